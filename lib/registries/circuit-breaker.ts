/**
 * The circuit breaker of a wash or lookup service: open after `threshold` consecutive failed attempts, so
 * that a service that is down is not asked again and again; after `cooldownMs` one probe attempt goes
 * through (half-open): its success closes the circuit, its failure opens it again.
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

/** Whether an attempt may go: `attempt` (the circuit is closed), `probe` (the one attempt of a half-open
 * circuit) or `refused` (the circuit is open, or a probe is already under way). */
export type Admission = 'attempt' | 'probe' | 'refused';

export class CircuitBreaker {
  private failures = 0;
  private circuit: CircuitState = 'closed';
  private openedAt = 0;
  private probing = false;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number,
  ) {}

  /** The circuit now (an open circuit turns half-open once the cooldown has passed). */
  get state(): CircuitState {
    this.refresh();
    return this.circuit;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  admit(): Admission {
    this.refresh();
    if (this.circuit === 'closed') return 'attempt';
    if (this.circuit === 'half-open' && !this.probing) {
      this.probing = true;
      return 'probe';
    }
    return 'refused';
  }

  succeeded(probe: boolean): void {
    if (probe) this.probing = false;
    this.failures = 0;
    this.circuit = 'closed';
  }

  /** `counts`: whether the failure counts toward the breaker (a 429 does not: the service is alive). */
  failed(probe: boolean, counts: boolean): void {
    if (probe) this.probing = false;
    if (!counts) return;
    this.failures += 1;
    if (probe || this.failures >= this.threshold) {
      this.circuit = 'open';
      this.openedAt = this.now();
    }
  }

  private refresh(): void {
    if (this.circuit === 'open' && this.now() - this.openedAt >= this.cooldownMs) this.circuit = 'half-open';
  }
}
