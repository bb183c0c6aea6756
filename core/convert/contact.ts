/**
 * A shared contact card as text: `📇 Name, +49 151 ••• 78`. The number goes through the
 * network's masking (identity/phone.ts), so a card is no way around it; a number given
 * without its `+` (Telegram sends them so) is read as international.
 */
import type { MessageContent } from '../events.js';

export function withContactCard(content: MessageContent, mask: (text: string) => string): MessageContent {
  const card = content.contact;
  if (!card) return content;
  const digits = card.phone?.replace(/[\s().-]/g, '') ?? '';
  const phone = /^\+?[0-9]{5,20}$/.test(digits) ? mask(digits.startsWith('+') ? digits : `+${digits}`) : card.phone && mask(card.phone);
  const line = `📇 ${card.name.trim() || 'Contact'}${phone ? `, ${phone}` : ''}`;
  const { contact: _card, ...rest } = content;
  return { ...rest, text: content.text ? `${content.text}\n${line}` : line };
}
