/**
 * Complaint forms ("why do you keep calling me", "how did you get my number", "who gave you my number")
 * and the `complaintsAsOptOut` option: off by default (the complaint is "none", set aside in `ignored`
 * with why `complaint`), on for teams whose counsel reads "any reasonable means" (47 CFR
 * 64.1200(a)(10)) as covering them. Either way the result names the complaint rule that matched.
 */
import assert from 'node:assert/strict';
import { OptOutClassifier, OptOutDetector } from '../lib/optout';

/** [language reported, text]: the three complaint forms in each language. */
const COMPLAINTS: readonly (readonly [string, string])[] = [
  ['en', 'Why do you keep calling me?'],
  ['en', 'why do u keep texting me'],
  ['en', 'why are you calling me every day'],
  ['en', 'How did you get my number?'],
  ['en', 'where did you get this number from'],
  ['en', 'Who gave you my number?'],
  ['es', '¿Por qué me siguen llamando?'],
  ['es', '¿Cómo consiguieron mi número?'],
  ['es', '¿De dónde sacaron mi número?'],
  ['es', '¿Quién les dio mi número?'],
  ['fr', 'Pourquoi vous continuez à m’appeler ?'],
  ['fr', 'Comment avez-vous eu mon numéro ?'],
  ['fr', 'Qui vous a donné mon numéro ?'],
  ['de', 'Warum rufen Sie mich ständig an?'],
  ['de', 'Woher haben Sie meine Nummer?'],
  ['de', 'Wer hat Ihnen meine Nummer gegeben?'],
  ['pt', 'Por que vocês continuam me ligando?'],
  ['pt', 'Como vocês conseguiram meu número?'],
  ['pt', 'Quem passou meu número?'],
  ['hi', 'आप बार-बार कॉल क्यों करते हो?'],
  ['hi', 'मेरा नंबर कहाँ से मिला?'],
  ['hi', 'मेरा नंबर किसने दिया?'],
  ['hi-Latn', 'aap baar baar call kyun karte ho'],
  ['hi-Latn', 'mera number kahan se mila'],
  ['hi-Latn', 'mera number kisne diya'],
  ['it', 'Perché continuate a chiamarmi?'],
  ['it', 'Dove avete preso il mio numero?'],
  ['it', 'Chi vi ha dato il mio numero?'],
  ['nl', 'Waarom blijven jullie me bellen?'],
  ['nl', 'Hoe komen jullie aan mijn nummer?'],
  ['nl', 'Wie heeft jullie mijn nummer gegeven?'],
  ['id', 'Kenapa kalian terus menelepon saya?'],
  ['id', 'Dari mana kalian dapat nomor saya?'],
  ['id', 'Siapa yang kasih nomor saya?'],
  ['tr', 'Neden beni sürekli arıyorsunuz?'],
  ['tr', 'Numaramı nereden buldunuz?'],
  ['tr', 'Numaramı size kim verdi?'],
];

/** Look-alikes that are not complaints about being contacted: none with the option on or off. */
const NOT_COMPLAINTS = [
  'how did you get my order wrong?',
  'why are you calling?',
  'why do you keep sending the bill to my old address',
  'who gave you permission to ship it?',
  '¿cómo consigo mi número de cliente?',
  'comment avez-vous eu mon adresse de livraison ?',
  'Woher haben Sie die Rechnung?',
  'como consigo meu número de protocolo?',
  'ek baar call kyun kiya',
  'dove avete preso il mio pacco?',
  'hoe komen jullie aan mijn adres?',
  'dari mana kalian dapat paketnya?',
  'siparişimi nereden buldunuz?',
];

describe('opt-out classifier: complaint forms', function () {
  const off = new OptOutClassifier();
  const on = new OptOutClassifier({ complaintsAsOptOut: true });

  it('by default reads a complaint as none, and records the complaint rule that matched', function () {
    for (const [, text] of COMPLAINTS) {
      const r = off.classify(text);
      assert.equal(r.kind, 'none', text);
      assert.equal(r.rule, null, text);
      const complaint = r.ignored.find((i) => i.why === 'complaint');
      assert.ok(complaint, `${text}: no complaint in ignored ${JSON.stringify(r.ignored)}`);
      assert.match(complaint.rule, /^complaint \((en|es|fr|de|pt|hi|it|nl|id|tr)\): /, text);
      assert.ok(text.includes(complaint.matched), `${text}: matched "${complaint.matched}"`);
    }
  });

  it('with complaintsAsOptOut reads each complaint as an opt-out in its language, naming the rule', function () {
    for (const [language, text] of COMPLAINTS) {
      const r = on.classify(text);
      assert.equal(r.kind, 'opt-out', text);
      assert.equal(r.language, language, text);
      assert.match(r.rule ?? '', /^complaint \((en|es|fr|de|pt|hi|it|nl|id|tr)\): /, text);
      assert.ok(r.matched !== null && text.includes(r.matched), `${text}: matched "${r.matched}"`);
      assert.ok(r.confidence < 0.9, `${text}: a complaint is weaker than an outright request`);
    }
  });

  it('leaves look-alikes alone with the option on or off', function () {
    for (const text of NOT_COMPLAINTS) {
      assert.equal(on.classify(text).kind, 'none', text);
      assert.equal(off.classify(text).kind, 'none', text);
      assert.deepEqual(
        on.classify(text).ignored.filter((i) => i.why === 'complaint'),
        [],
        text,
      );
    }
  });

  it('an outright request still decides (and names its own rule) when a complaint comes with it', function () {
    for (const classifier of [off, on]) {
      const r = classifier.classify('Why do you keep calling me?? Stop it');
      assert.equal(r.kind, 'opt-out');
      assert.doesNotMatch(r.rule ?? '', /complaint/);
      assert.equal(r.matched, 'Stop it');
    }
  });

  it('with the option on, a complaint outranks a help request in the same message; off, help stays', function () {
    const text = 'Who is this? How did you get my number?';
    assert.equal(off.classify(text).kind, 'help');
    const r = on.classify(text);
    assert.equal(r.kind, 'opt-out');
    assert.equal(r.matched, 'How did you get my number');
  });

  it('passes the same gates as other phrases: a hypothetical complaint does not decide, nor turn into help', function () {
    const r = on.classify('if I asked who gave you my number, would you even tell me');
    assert.equal(r.kind, 'none');
    assert.deepEqual(
      r.ignored.map((i) => [i.matched, i.why]),
      [['who gave you my number', 'hypothetical']],
    );
  });

  it('OptOutDetector takes the option: an opt-out with its confirmation when on, none without', function () {
    const mapping = { defaultLabels: ['DNC_Global'] };
    const plain = new OptOutDetector({ mapping }).detect('How did you get my number?', { channel: 'sms' });
    assert.equal(plain.intent.kind, 'none');
    assert.equal(plain.confirmation, null);
    assert.deepEqual(plain.intent.labels, []);
    assert.equal(plain.intent.ignored[0].why, 'complaint');
    const counsel = new OptOutDetector({ mapping, complaintsAsOptOut: true, sender: 'Acme' });
    const d = counsel.detect('¿Quién les dio mi número?', { channel: 'sms' });
    assert.equal(d.intent.kind, 'opt-out');
    assert.equal(d.intent.language, 'es');
    assert.match(d.intent.rule ?? '', /^complaint \(es\): /);
    assert.deepEqual(d.intent.labels, ['DNC_Global']);
    assert.match(d.confirmation ?? '', /^Acme: Se ha dado de baja/);
  });
});
