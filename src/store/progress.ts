// Download progress: bytes and files done out of the total, the current speed (bytes received
// over the last few seconds) and the time left at that speed.

export interface DownloadProgress {
  /** Bytes of the planned files held in the store or received so far (the previous runs' included). */
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Received over the last ~3 s; 0 before the first bytes arrive. */
  bytesPerSecond: number;
  /** Seconds left at the current speed; undefined until there is a speed. */
  etaSeconds: number | undefined;
  /** The file whose bytes moved last, package-relative. */
  file?: string;
}

const WINDOW_MS = 3000;
const EMIT_EVERY_MS = 100;

export class ProgressTracker {
  private bytesDone = 0;
  private filesDone = 0;
  private readonly samples: { t: number; bytes: number }[] = [];
  private received = 0;
  private lastEmit = 0;

  constructor(
    private readonly bytesTotal: number,
    private readonly filesTotal: number,
    private readonly onProgress?: (p: DownloadProgress) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Counts bytes already stored before this run (no speed effect). */
  alreadyHave(bytes: number, wholeFile: boolean): void {
    this.bytesDone += bytes;
    if (wholeFile) this.filesDone++;
  }

  /** `delta` bytes arrived (negative when a failed attempt's uncommitted bytes are thrown away). */
  bytes(delta: number, file: string): void {
    this.bytesDone += delta;
    if (delta > 0) {
      this.received += delta;
      this.samples.push({ t: this.now(), bytes: this.received });
    }
    this.emit(file, false);
  }

  fileDone(file: string): void {
    this.filesDone++;
    this.emit(file, true);
  }

  snapshot(file?: string): DownloadProgress {
    const t = this.now();
    while (this.samples.length > 1 && t - this.samples[0]!.t > WINDOW_MS) this.samples.shift();
    let speed = 0;
    if (this.samples.length > 1) {
      const a = this.samples[0]!, b = this.samples[this.samples.length - 1]!;
      const dt = Math.max(t - a.t, b.t - a.t) / 1000;
      if (dt > 0) speed = (b.bytes - a.bytes) / dt;
    }
    const left = Math.max(0, this.bytesTotal - this.bytesDone);
    return {
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      bytesPerSecond: speed,
      etaSeconds: left === 0 ? 0 : speed > 0 ? left / speed : undefined,
      file,
    };
  }

  emit(file: string | undefined, force: boolean): void {
    if (!this.onProgress) return;
    const t = this.now();
    if (!force && t - this.lastEmit < EMIT_EVERY_MS) return;
    this.lastEmit = t;
    this.onProgress(this.snapshot(file));
  }
}
