/**
 * Opt-out detection: classifies what a person typed or said (SMS, WhatsApp, chat, IVR transcript) as
 * opt-out, opt-in, help or none, maps an opt-out to the labels a flow applies, and gives the one
 * confirmation message it owes. In-process and deterministic: the same text always gives the same answer.
 */
import { OptOutClassifier, type Classification, type ClassifierOptions, type IntentKind } from './classifier';
import { confirmationFor } from './confirmations';
import { LabelMapping, type LabelMappingInput, type LabelValidator } from './mapping';

export { OptOutClassifier, LANGUAGES, TOPICS, type Classification, type IntentKind } from './classifier';
export { CONFIRMATIONS, CONFIRMATION_LANGUAGES, confirmationFor } from './confirmations';
export { LabelMapping, type LabelMappingInput, type LabelRuleInput, type LabelValidator } from './mapping';

/** `msg.dnc.intent`. */
export interface Intent {
  readonly kind: IntentKind;
  /** The words of the message that decided, as written (null for none). */
  readonly matched: string | null;
  readonly language: string;
  readonly confidence: number;
  /** Opt-out: the labels to apply; opt-in: the labels to lift; else []. */
  readonly labels: string[];
  /** The rule that decided, for audits ("keyword: stop", "es: no @me ... @subj"). */
  readonly rule: string | null;
  readonly topics: string[];
  /** Channels the person named. */
  readonly channels: string[];
  /** Look-alike phrases set aside (negated, hypothetical, an instruction, a time restriction). */
  readonly ignored: Classification['ignored'];
}

export interface DetectorOptions extends ClassifierOptions {
  readonly mapping?: LabelMappingInput;
  readonly validateLabels?: LabelValidator;
  /** Sender name put in front of the confirmation ("Acme: You are unsubscribed..."). */
  readonly sender?: string;
  /** A confirmation text of the flow's own, replacing the built-in per-language ones. */
  readonly confirmationTemplate?: string;
}

export interface Detection {
  readonly intent: Intent;
  /** The opt-out confirmation, in the message's language; null for other kinds. */
  readonly confirmation: string | null;
}

export class OptOutDetector {
  readonly classifier: OptOutClassifier;
  readonly mapping: LabelMapping;
  private readonly sender: string;
  private readonly template: string;

  constructor(options: DetectorOptions = {}) {
    this.classifier = new OptOutClassifier(options);
    this.mapping = new LabelMapping(options.mapping, options.validateLabels);
    this.sender = options.sender ?? '';
    this.template = options.confirmationTemplate ?? '';
  }

  detect(text: string, options: { channel?: string | null } = {}): Detection {
    const c = this.classifier.classify(text);
    const channel = options.channel ?? null;
    const labels = c.kind === 'opt-out' || c.kind === 'opt-in' ? this.mapping.labelsFor(c, channel) : [];
    const intent: Intent = {
      kind: c.kind,
      matched: c.matched,
      language: c.language,
      confidence: c.confidence,
      labels,
      rule: c.rule,
      topics: c.topics,
      channels: c.channels,
      ignored: c.ignored,
    };
    const confirmation =
      c.kind === 'opt-out'
        ? confirmationFor(c.language, { channel, sender: this.sender, template: this.template })
        : null;
    return { intent, confirmation };
  }
}
