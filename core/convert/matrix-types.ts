/** The parts of Matrix event content the converters read and write (client-server spec, m.room.message). */
export interface MatrixMessageContent {
  msgtype: string;
  body: string;
  format?: 'org.matrix.custom.html';
  formatted_body?: string;
  url?: string;
  filename?: string;
  info?: { mimetype?: string; size?: number; w?: number; h?: number; duration?: number };
  'm.mentions'?: { user_ids?: string[] };
  'm.relates_to'?: { rel_type?: string; event_id?: string; key?: string; 'm.in_reply_to'?: { event_id?: string } };
  'm.new_content'?: MatrixMessageContent;
  [extra: string]: unknown;
}

/** An event as the homeserver pushes it to the appservice. */
export interface MatrixClientEvent {
  type: string;
  room_id: string;
  sender: string;
  event_id: string;
  content: Record<string, unknown>;
  state_key?: string;
  redacts?: string;
  origin_server_ts?: number;
  unsigned?: Record<string, unknown>;
}

/** Structural check of a pushed event; anything else is recorded and skipped. */
export function isMatrixClientEvent(e: unknown): e is MatrixClientEvent {
  if (!e || typeof e !== 'object') return false;
  const o = e as Record<string, unknown>;
  return (
    typeof o.type === 'string' && typeof o.room_id === 'string' && typeof o.sender === 'string' &&
    typeof o.event_id === 'string' && !!o.content && typeof o.content === 'object' && !Array.isArray(o.content)
  );
}
