/**
 * A file registry's binary-index cache: the index file kept beside the data (`<source>.dncidx`), so a
 * restart reads the numbers back instead of parsing the text again. The file is used only when it was
 * built for this registry, with the same layout, from exactly the source files now present (names, sizes,
 * mtimes) or from a prefix of them that the rest only extends with change lists; a damaged file is
 * rebuilt from the sources (a warning), never trusted. Its header also tells what the last run held: the
 * shrink rule's baseline after a restart, and a flow's as-of date for the files it was given for.
 */
import {
  IndexFileError,
  readIndexFile,
  readIndexFileHeader,
  writeIndexFile,
  type IndexFileHeader,
  type SourceFingerprint,
} from './index-file';
import type { RegistryId } from './known-registries';
import type { NumberIndex } from './number-index';
import type { MalformedLine } from './parsers';
import type { CountBaseline, RegistryLoadProgress, Snapshot, SourceSummary } from './registry-loader';
import { extendsSources, type AsOfSource } from './source-files';

/** The data read back from a binary index (malformed line examples are not persisted, only counts). */
export interface CachedIndex {
  index: NumberIndex;
  sources: SourceFingerprint[];
  malformed: MalformedLine[];
  summary: readonly SourceSummary[];
}

type Report = (progress: Omit<RegistryLoadProgress, 'registry' | 'percent'>, percent: number) => void;

export class RegistryIndexCache {
  /** The as-of source the index file records (to rewrite it when that changes). */
  persistedAsOfSource: AsOfSource | undefined;

  constructor(
    readonly path: string,
    private readonly registry: RegistryId,
    /** The layout the index was parsed with, as compared (JSON of the layout options). */
    private readonly layoutKey: string,
    private readonly report: Report,
  ) {}

  /** The index file's header when it is this registry's, else null (none, damaged, another registry's). */
  async header(): Promise<IndexFileHeader | null> {
    try {
      const header = await readIndexFileHeader(this.path);
      return header.registry === this.registry ? header : null;
    } catch {
      return null; // no index, or a damaged one: the load reports it
    }
  }

  /**
   * With no data in memory (the first load after a restart or redeploy), the data a load replaces is the
   * one this registry's binary index holds: its header's count is the baseline of the shrink rule.
   */
  async previousRunBaseline(): Promise<CountBaseline | null> {
    try {
      const header = await readIndexFileHeader(this.path);
      if (header.registry !== this.registry || !(header.count > 0)) return null;
      const asOfIso = Number.isFinite(header.asOf) ? new Date(header.asOf).toISOString() : 'an unknown date';
      return { count: header.count, asOfIso, inMemory: false };
    } catch {
      return null; // no index (or a damaged one, already reported): nothing to compare with
    }
  }

  /** The index when it was built from these sources (or a prefix they extend with change lists), else null. */
  async read(fingerprints: readonly SourceFingerprint[], warnings: string[]): Promise<CachedIndex | null> {
    const path = this.path;
    let header: IndexFileHeader;
    try {
      header = await readIndexFileHeader(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        warnings.push(`ignored the binary index: ${(err as Error).message}`);
      return null;
    }
    if (
      header.registry !== this.registry ||
      header.layoutKey !== this.layoutKey ||
      !extendsSources(header.sources, fingerprints)
    ) {
      return null;
    }
    this.report({ phase: 'reading-index', source: path, linesRead: 0, bytesRead: 0, totalBytes: 0 }, 0);
    try {
      const { index } = await readIndexFile(path);
      this.persistedAsOfSource = header.asOfSource as AsOfSource | undefined;
      // The examples of malformed lines are not persisted, only the counts.
      return { index, sources: header.sources, malformed: [], summary: header.parseSummary };
    } catch (err) {
      if (!(err instanceof IndexFileError)) throw err;
      warnings.push(`rebuilt from the sources: ${err.message}`);
      return null;
    }
  }

  async write(snapshot: Snapshot, builtAt: number, warnings: string[]): Promise<void> {
    const { index, asOf, sources, summary } = snapshot;
    this.report({ phase: 'writing-index', source: this.path, linesRead: 0, bytesRead: 0, totalBytes: 0 }, 97);
    try {
      await writeIndexFile(this.path, index, {
        registry: this.registry,
        layoutKey: this.layoutKey,
        asOf,
        builtAt,
        sources: [...sources],
        parseSummary: [...summary],
        asOfSource: snapshot.asOfSource,
      });
      this.persistedAsOfSource = snapshot.asOfSource;
    } catch (err) {
      // The data is good; only the next restart will be slower.
      warnings.push(`could not write the binary index ${this.path}: ${(err as Error).message}`);
    }
  }
}
