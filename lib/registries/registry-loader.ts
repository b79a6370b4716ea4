/**
 * Loading a file registry's data: parsing its sources (text files, zips of per-area-code files) into a
 * NumberIndex, applying change lists, and the integrity checks that refuse a load: a file where too many
 * lines do not parse (typically the wrong layout), data with no numbers at all, or far fewer numbers than
 * the data it replaces (a truncated download or an emptied file would otherwise answer "not listed" for
 * every number). Progress is reported (throttled) and long stretches yield to the event loop.
 */
import { performance } from 'node:perf_hooks';
import { NumberIndexBuilder } from './index-build';
import type { IndexFileHeader, SourceFingerprint } from './index-file';
import { mergeIndex } from './index-merge';
import type { RegistryId } from './known-registries';
import { NumberIndex } from './number-index';
import {
  parseLineFile,
  parseLineStream,
  type LayoutOptions,
  type MalformedLine,
  type ParseReport,
} from './parsers';
import { isDataFileName, RegistryLoadRefusedError, type AsOfSource, type SourceFile } from './source-files';
import { readZipDirectory, readZipEntry } from './zip';
import { basename } from 'node:path';

export interface RegistryLoadProgress {
  registry: RegistryId;
  phase: 'reading-index' | 'parsing' | 'building' | 'writing-index';
  /** The file (or `zip!entry`) being read. */
  source: string;
  linesRead: number;
  bytesRead: number;
  totalBytes: number;
  /** 0-100 over the whole load (parsing is most of it). */
  percent: number;
}

/** The data a registry answers from; replaced as a whole by a reload. */
export interface Snapshot {
  readonly index: NumberIndex;
  readonly asOf: number;
  readonly asOfIso: string;
  readonly asOfSource: AsOfSource;
  readonly loadedAt: number;
  readonly sources: readonly SourceFingerprint[];
  readonly malformedLines: number;
  readonly malformed: readonly MalformedLine[];
  /** Per source: lines, numbers, malformed lines (persisted in the binary index). */
  readonly summary: readonly SourceSummary[];
}

export type SourceSummary = IndexFileHeader['parseSummary'][number];

export function summaryOf(reports: readonly ParseReport[]): SourceSummary[] {
  return reports.map((r) => ({
    source: r.source,
    lines: r.lines,
    numbers: r.numbers,
    malformedLines: r.malformedLines,
  }));
}

/** The numbers a load replaces, for the shrink rule: the data in memory, or the previous run's index. */
export interface CountBaseline {
  count: number;
  asOfIso: string;
  inMemory: boolean;
}

export interface RegistryLoaderOptions {
  id: RegistryId;
  /** The registry's file or folder (named in refusals). */
  source: string;
  layout: LayoutOptions;
  minRetainedRatio: number;
  maxMalformedRatio?: number;
  maxMalformedExamples?: number;
  onProgress?: (progress: RegistryLoadProgress) => void;
  now: () => number;
}

/** One registry's loading machinery; FileRegistry decides when to load and what to keep. */
export class RegistryLoader {
  /** The running load's progress, null between loads. */
  progress: RegistryLoadProgress | null = null;

  constructor(private readonly options: RegistryLoaderOptions) {}

  /**
   * Parses every source from text: the full lists into one index, then the change lists applied in order.
   * Each file is checked for its share of lines that do not parse (checkReport).
   */
  async parseAll(ordered: readonly SourceFile[]): Promise<{ index: NumberIndex; reports: ParseReport[] }> {
    const full = ordered.filter((f) => f.kind === 'full');
    const changes = ordered.filter((f) => f.kind !== 'full');
    const totalBytes = ordered.reduce((sum, f) => sum + f.size, 0);
    let bytesBefore = 0;
    const builder = new NumberIndexBuilder();
    const reports: ParseReport[] = [];
    for (const file of full) {
      reports.push(...(await this.parseSource(file, builder, bytesBefore, totalBytes)));
      bytesBefore += file.size;
    }
    this.report(
      { phase: 'building', source: this.options.source, linesRead: 0, bytesRead: bytesBefore, totalBytes },
      90,
    );
    let index = await builder.build(
      this.pauser((done, total) =>
        this.report(
          {
            phase: 'building',
            source: this.options.source,
            linesRead: 0,
            bytesRead: bytesBefore,
            totalBytes,
          },
          90 + (5 * done) / total,
        ),
      ),
    );
    if (changes.length > 0) {
      const applied = await this.applyChangeLists(index, changes, ordered);
      index = applied.index;
      reports.push(...applied.reports);
    }
    return { index, reports };
  }

  /**
   * Refuses data that would answer "not listed" for numbers that are listed: a load with no numbers at all
   * (an empty or blank file, only unparseable lines, deletions that empty the list), or a full data set
   * with far fewer numbers than the data it replaces (a truncated download). The previous data is kept.
   */
  checkCount(next: Snapshot, previous: Snapshot | CountBaseline | null): void {
    const count = next.index.count;
    const current: CountBaseline | null =
      previous === null
        ? null
        : 'index' in previous
          ? { count: previous.index.count, asOfIso: previous.asOfIso, inMemory: true }
          : previous;
    const kept = !current
      ? 'there is no previous data, so every lookup answers "could not check"'
      : current.inMemory
        ? `the previous data (${current.count} numbers as of ${current.asOfIso.slice(0, 10)}) is kept`
        : `the binary index of the previous data (${current.count} numbers as of ${current.asOfIso.slice(0, 10)}) is kept; until a load is accepted every lookup answers "could not check"`;
    if (count === 0) {
      const lines = next.summary.reduce((sum, s) => sum + s.lines, 0);
      const malformed = next.summary.reduce((sum, s) => sum + s.malformedLines, 0);
      throw new RegistryLoadRefusedError(
        'empty',
        `${this.options.source}: the data holds no numbers (${lines} line(s), ${malformed} that do not parse); load refused, ${kept}`,
      );
    }
    if (current && count < this.options.minRetainedRatio * current.count) {
      throw new RegistryLoadRefusedError(
        'shrunk',
        `${this.options.source}: the new data holds ${count} numbers, fewer than ${Math.round(this.options.minRetainedRatio * 100)}% of the ${current.count} it replaces; load refused, ${kept}`,
      );
    }
  }

  makeSnapshot(
    index: NumberIndex,
    asOf: { at: number; source: AsOfSource },
    sources: readonly SourceFingerprint[],
    summary: readonly SourceSummary[],
    malformed: readonly MalformedLine[],
  ): Snapshot {
    return {
      index,
      asOf: asOf.at,
      asOfIso: new Date(asOf.at).toISOString(),
      asOfSource: asOf.source,
      loadedAt: this.options.now(),
      sources,
      malformedLines: summary.reduce((sum, s) => sum + s.malformedLines, 0),
      malformed: malformed.slice(0, this.options.maxMalformedExamples ?? 20),
      summary,
    };
  }

  /** base + each change list in order; each is its own additions or deletions set. */
  async applyChangeLists(
    base: NumberIndex,
    changes: readonly SourceFile[],
    all: readonly SourceFile[],
  ): Promise<{ index: NumberIndex; reports: ParseReport[] }> {
    const totalBytes = all.reduce((sum, f) => sum + f.size, 0);
    let bytesBefore = totalBytes - changes.reduce((sum, f) => sum + f.size, 0);
    let index = base;
    const reports: ParseReport[] = [];
    const empty = NumberIndex.empty();
    for (const file of changes) {
      const builder = new NumberIndexBuilder();
      reports.push(...(await this.parseSource(file, builder, bytesBefore, totalBytes)));
      bytesBefore += file.size;
      const change = await builder.build(this.pauser());
      index =
        file.kind === 'additions'
          ? await mergeIndex(index, change, empty, this.pauser())
          : await mergeIndex(index, empty, change, this.pauser());
    }
    return { index, reports };
  }

  /** Parses one file (or each entry of a zip) into the builder, checking the malformed share. */
  private async parseSource(
    file: SourceFile,
    builder: NumberIndexBuilder,
    bytesBefore: number,
    totalBytes: number,
  ): Promise<ParseReport[]> {
    const maxExamples = this.options.maxMalformedExamples ?? 20;
    const reports: ParseReport[] = [];
    if (file.zip) {
      const entries = await readZipDirectory(file.path);
      const compressedTotal = entries.reduce((sum, e) => sum + e.compressedSize, 0) || 1;
      let entryBase = 0;
      for (const entry of entries) {
        if (!isDataFileName(basename(entry.name)) || entry.name.startsWith('__MACOSX/')) continue;
        const source = `${file.path}!${entry.name}`;
        let uncompressed = 0;
        const share = entry.compressedSize / compressedTotal;
        const report = await parseLineStream(
          source,
          readZipEntry(file.path, entry),
          this.options.layout,
          builder,
          {
            maxExamples,
            onBytes: async (bytes, lines) => {
              uncompressed += bytes;
              const fraction = entryBase + share * Math.min(1, uncompressed / (entry.uncompressedSize || 1));
              this.reportThrottled(
                {
                  phase: 'parsing',
                  source,
                  linesRead: lines,
                  bytesRead: bytesBefore + fraction * file.size,
                  totalBytes,
                },
                (90 * (bytesBefore + fraction * file.size)) / totalBytes,
              );
              await this.yieldNow();
            },
          },
        );
        entryBase += share;
        this.checkReport(report);
        reports.push(report);
      }
      return reports;
    }
    const report = await parseLineFile(file.path, this.options.layout, builder, {
      maxExamples,
      onProgress: (progress) =>
        this.reportThrottled(
          {
            phase: 'parsing',
            source: file.path,
            linesRead: progress.lines,
            bytesRead: bytesBefore + progress.bytesRead,
            totalBytes,
          },
          (90 * (bytesBefore + progress.bytesRead)) / totalBytes,
        ),
    });
    this.checkReport(report);
    return [report];
  }

  private checkReport(report: ParseReport): void {
    const ratio = this.options.maxMalformedRatio ?? 0.01;
    const considered = report.numbers + report.malformedLines;
    if (considered > 0 && report.malformedLines > ratio * considered) {
      const first = report.malformed[0];
      throw new Error(
        `${report.source}: ${report.malformedLines} of ${considered} lines do not parse as ${report.layout}` +
          (first ? ` (line ${first.line}: "${first.text}": ${first.reason})` : '') +
          ' - wrong layout or a damaged file; the previous data is kept',
      );
    }
  }

  private lastProgressAt = 0;

  report(progress: Omit<RegistryLoadProgress, 'registry' | 'percent'>, percent: number): void {
    this.progress = { registry: this.options.id, ...progress, percent: Math.min(100, Math.max(0, percent)) };
    this.lastProgressAt = performance.now();
    try {
      this.options.onProgress?.(this.progress);
    } catch {
      // a listener's failure is not the load's
    }
  }

  /** At most four progress reports a second. */
  private reportThrottled(
    progress: Omit<RegistryLoadProgress, 'registry' | 'percent'>,
    percent: number,
  ): void {
    if (performance.now() - this.lastProgressAt >= 250) this.report(progress, percent);
    else
      this.progress = {
        registry: this.options.id,
        ...progress,
        percent: Math.min(100, Math.max(0, percent)),
      };
  }

  private lastYieldAt = performance.now();

  /** Lets other work (lookups, the editor) run every ~20 ms of a long synchronous stretch. */
  private async yieldNow(): Promise<void> {
    if (performance.now() - this.lastYieldAt < 20) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYieldAt = performance.now();
  }

  pauser(onStep?: (done: number, total: number) => void): (done: number, total: number) => Promise<void> {
    return async (done, total) => {
      onStep?.(done, total);
      await this.yieldNow();
    };
  }
}
