// Follows WebSocket frame boundaries in relayed bytes (RFC 6455 5.2) without copying them: counts messages, sees close frames.

/**
 * Reads only frame headers: the bytes themselves are relayed untouched by the caller. Used to tell who
 * closed a connection first (the side whose close frame came first, whatever TCP does next) and with which
 * close code. A stream that stops looking like frames (extensions do not change the framing) is left alone.
 */
export class FrameWatcher {
  /** Data frames (text, binary, continuation) seen. */
  frames = 0;
  /** Set at the first close frame: its status code, or 1005 when it carried none. */
  closeCode?: number;
  private head = Buffer.alloc(14);
  private headLen = 0;
  private payloadLeft = 0;
  private masked = false;
  private opcode = 0;
  /** Close-frame payload bytes needed for the status code (first two), unmasked as they pass. */
  private closeBytes: number[] = [];
  private mask: number[] = [];
  private payloadIndex = 0;
  private broken = false;

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.broken) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - i);
        if (this.opcode === 8) this.readClose(chunk, i, n);
        this.payloadIndex += n;
        this.payloadLeft -= n;
        i += n;
        if (this.payloadLeft === 0) this.endFrame();
        continue;
      }
      this.head[this.headLen++] = chunk[i++];
      const need = this.headerLength();
      if (need === undefined || this.headLen < need) continue;
      this.startFrame();
    }
  }

  /** Header length once the first two bytes are in (undefined before). */
  private headerLength(): number | undefined {
    if (this.headLen < 2) return undefined;
    const len7 = this.head[1] & 0x7f;
    const masked = (this.head[1] & 0x80) !== 0;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  private startFrame(): void {
    const h = this.head;
    this.opcode = h[0] & 0x0f;
    this.masked = (h[1] & 0x80) !== 0;
    const len7 = h[1] & 0x7f;
    let len = len7;
    let p = 2;
    if (len7 === 126) {
      len = h.readUInt16BE(2);
      p = 4;
    } else if (len7 === 127) {
      const big = h.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        this.broken = true;
        return;
      }
      len = Number(big);
      p = 10;
    }
    this.mask = this.masked ? [h[p], h[p + 1], h[p + 2], h[p + 3]] : [];
    this.headLen = 0;
    this.payloadIndex = 0;
    this.closeBytes = [];
    if (this.opcode > 0xa || (this.opcode > 2 && this.opcode < 8)) {
      this.broken = true;
      return;
    }
    this.payloadLeft = len;
    if (len === 0) this.endFrame();
  }

  private readClose(chunk: Buffer, at: number, n: number): void {
    for (let k = 0; k < n && this.payloadIndex + k < 2; k++) {
      const j = this.payloadIndex + k;
      this.closeBytes.push(this.masked ? chunk[at + k] ^ this.mask[j % 4] : chunk[at + k]);
    }
  }

  private endFrame(): void {
    if (this.opcode <= 2) this.frames++;
    else if (this.opcode === 8 && this.closeCode === undefined) {
      this.closeCode = this.closeBytes.length === 2 ? (this.closeBytes[0] << 8) | this.closeBytes[1] : 1005;
    }
  }
}
