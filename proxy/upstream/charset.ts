// The answer's character set: what is not UTF-8 is read as what it says it is and sent on as UTF-8.
//
// Redaction reads text as UTF-8. An answer in UTF-16 (`charset=utf-16le`, or JSON with a UTF-16 byte order mark or
// null-byte pattern, which Python's requests decodes by itself) held a secret every detector missed while the
// client read it whole (black-box round 12). Such an answer is decoded with the WHATWG decoders (TextDecoder) and
// sent as UTF-8 with `charset=utf-8`; a charset no decoder knows (utf-7, utf-32) is bytes the proxy cannot check,
// refused as a Content-Encoding it cannot read is.
import { EventEmitter } from 'node:events';
import type { AnswerSource } from './leg.js';

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;
const UTF8 = /^(?:utf-?8|unicode-1-1-utf-8|us-ascii|ascii)$/i;

export type Recoding = { kind: 'utf8' } | { kind: 'decode'; label: string; type: string } | { kind: 'unknown'; charset: string };

/** What the Content-Type's charset asks for: nothing (absent or UTF-8), a decoder, or a refusal. */
export function recodingFor(type: string | undefined): Recoding {
  const m = type === undefined ? null : CHARSET.exec(type);
  if (m === null || UTF8.test(m[1]!)) return { kind: 'utf8' };
  let label: string;
  try {
    label = new TextDecoder(m[1]!).encoding;
  } catch {
    return { kind: 'unknown', charset: m[1]!.slice(0, 40) };
  }
  if (label === 'utf-8') return { kind: 'utf8' };
  return { kind: 'decode', label, type: type!.replace(CHARSET, '; charset=utf-8') };
}

/**
 * A JSON answer without a charset, in UTF-16 or UTF-32 by its first bytes (RFC 4627 §3's detection, or a byte
 * order mark): the encoding, or null for UTF-8.
 */
export function sniffJsonEncoding(b: Buffer): 'utf-16le' | 'utf-16be' | 'utf-32' | null {
  if (b.length >= 4 && ((b[0] === 0 && b[1] === 0) || (b[2] === 0 && b[3] === 0 && b[1] === 0))) return 'utf-32';
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  if (b.length >= 2 && b[0] === 0 && b[1] !== 0) return 'utf-16be';
  if (b.length >= 2 && b[0] !== 0 && b[1] === 0) return 'utf-16le';
  return null;
}

/**
 * A UTF-16 byte order mark: browsers decode by it whatever the charset says (WHATWG Encoding, "decode": the BOM
 * wins over the label), so a body that starts with one is UTF-16 to them even under `charset=utf-8` (review).
 */
export function bomEncoding(b: Buffer): 'utf-16le' | 'utf-16be' | null {
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  return null;
}

/**
 * The answer's body re-encoded as UTF-8 as it arrives (a character split between pieces waits): decoded from
 * `label`, or with `'bom'` from UTF-16 when its first two bytes are a byte order mark (bomEncoding) and else passed
 * on as it came.
 */
export class Recoded extends EventEmitter implements AnswerSource {
  /** undefined until the first two bytes decided ('bom'); null: passed on unchanged. */
  private decoder: TextDecoder | null | undefined;
  /** A first piece of one byte, waiting for the second ('bom'). */
  private first: Buffer | null = null;
  constructor(private readonly from: AnswerSource, label: string | 'bom') {
    super();
    this.on('error', () => {}); // as the leg's: its reader handles it
    if (label !== 'bom') this.decoder = new TextDecoder(label);
    from.on('data', (c: Buffer) => {
      if (this.decoder === undefined) {
        const head = this.first ? Buffer.concat([this.first, c]) : c;
        if (head.length < 2) { this.first = head; return; }
        this.first = null;
        const enc = bomEncoding(head);
        this.decoder = enc ? new TextDecoder(enc) : null;
        c = head;
      }
      if (this.decoder === null) return void this.emit('data', c);
      const t = this.decoder.decode(c, { stream: true });
      if (t.length > 0) this.emit('data', Buffer.from(t, 'utf8'));
    });
    from.on('end', () => {
      if (this.first) this.emit('data', this.first);
      const t = this.decoder ? this.decoder.decode() : '';
      if (t.length > 0) this.emit('data', Buffer.from(t, 'utf8'));
      this.emit('end');
    });
    from.on('error', (e: Error) => this.emit('error', e));
  }
  pause(): void { this.from.pause(); }
  resume(): void { this.from.resume(); }
  destroy(): void { this.from.destroy(); }
}
