/**
 * The opt-out classifier's behaviour, case by case. Its scores on the labelled sets are in
 * test/optout-eval.test.ts.
 */
import assert from 'node:assert/strict';
import { OptOutClassifier, OptOutDetector, confirmationFor, LabelMapping } from '../lib/optout';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { LEXICONS } from '../lib/optout/classifier';
import { tokenise } from '../lib/optout/normalise';
import { tokenSet } from '../lib/optout/gates';
import { compilePattern, matchAt, PatternIndex, type CompiledPattern } from '../lib/optout/patterns';
import { universal } from '../lib/optout/universal';
import { KINDS, loadUtterances } from './support/utterances';

describe('opt-out classifier', function () {
  const classifier = new OptOutClassifier();
  const kind = (text: string) => classifier.classify(text).kind;

  it('reads carrier keywords alone or in short replies', function () {
    for (const text of [
      'STOP',
      'stop',
      'STOP.',
      'stop please',
      'Stop!!',
      'STOPALL',
      'UNSUBSCRIBE',
      'Cancel',
      'END',
      'QUIT',
      'REVOKE',
      'OPTOUT',
      'opt out',
      'ARRET',
      'REMOVE',
      'TD',
      '"STOP"',
      'Stop, thank you',
      'STOP STOP',
    ])
      assert.equal(kind(text), 'opt-out', text);
    for (const text of ['START', 'unstop', 'YES', 'Yes please']) assert.equal(kind(text), 'opt-in', text);
    for (const text of ['HELP', 'info', 'Help!']) assert.equal(kind(text), 'help', text);
  });

  it('reads free phrasing in ten languages and both Hindi scripts', function () {
    const cases: [string, string][] = [
      ['take me off your list', 'en'],
      ["don't call me again", 'en'],
      ['remove my number', 'en'],
      ["I don't want these messages", 'en'],
      ['por favor no me llamen más', 'es'],
      ['ne m’appelez plus', 'fr'],
      ['bitte keine Werbung mehr', 'de'],
      ['não quero mais receber mensagens', 'pt'],
      ['मुझे कॉल मत करो', 'hi'],
      ['msg band karo', 'hi-Latn'],
      ['non chiamatemi più', 'it'],
      ['cancellatemi dalla vostra lista', 'it'],
      ['bel me niet meer', 'nl'],
      ['ik wil me afmelden', 'nl'],
      ['jangan hubungi saya lagi', 'id'],
      ['UNREG', 'id'],
      ['beni aramayın', 'tr'],
      ['RET', 'tr'],
      ['numaramı listenizden çıkarın', 'tr'],
    ];
    for (const [text, language] of cases) {
      const r = classifier.classify(text);
      assert.equal(r.kind, 'opt-out', text);
      assert.equal(r.language, language, text);
    }
  });

  it('is not fooled by negation, questions about other things, quotes, instructions or words inside words', function () {
    for (const text of [
      "don't stop",
      'I do not want to unsubscribe',
      'how do I stop my order?',
      'My son typed "STOP" by accident, keep the alerts coming',
      'Text STOP to 12345 to opt out',
      'stopwatch',
      'unendlich',
      'bus stop',
      "please don't call me before noon",
      'no quiero darme de baja',
      'message band mat karo',
      'non voglio disiscrivermi',
      'ik wil me niet afmelden',
      'saya tidak mau berhenti berlangganan',
      'aboneliğimi iptal etmek istemiyorum',
      "Mesaj almamak için RET yazıp 3838'e gönderin",
      'Rispondi STOP per non ricevere più messaggi',
    ])
      assert.equal(kind(text), 'none', text);
    assert.equal(kind('RET yazarsam ne olur?'), 'help');
  });

  it('reads Spanish and Portuguese subscription phrasing, and sets its negations aside', function () {
    for (const text of [
      'quiero darme de baja',
      'cancelar la suscripción',
      'Cancelen mi suscripcion por favor',
      'desuscribirme',
      'no quiero más',
      'ya no quiero',
      'não quero mais',
      'cancelar inscricao',
      'quero me descadastrar',
      'me tira da lista',
      'cancelar assinatura',
    ])
      assert.equal(kind(text), 'opt-out', text);
    for (const text of [
      'no quiero cancelar mi suscripción',
      'ya no quiero el pedido de ayer, ¿me devuelven el dinero?',
      'não quero cancelar minha inscrição',
      'não quero mais esse pedido, podem estornar?',
    ])
      assert.equal(kind(text), 'none', text);
  });

  it('classifies a mixed-language message by its opt-out phrase wherever it appears', function () {
    for (const [text, language] of [
      ['please stop, no me llamen más', 'es'],
      ['bas karo, don’t call me', 'en'],
      ['dejen de texting me, en serio', 'es'],
      ['yaar stop sending these messages', 'en'],
      ['stop na po, don’t text me again', 'en'],
      ['sorry maar stop met bellen please', 'nl'],
      ['lütfen beni aramayın, thanks', 'tr'],
    ] as const) {
      const r = classifier.classify(text);
      assert.equal(r.kind, 'opt-out', text);
      assert.equal(r.language, language, text);
    }
    for (const text of ['please no dejen de mandarme ofertas', 'yaar message band mat karo, I like them'])
      assert.equal(kind(text), 'none', text);
  });

  it('reads stretched letters, Turkish dotless i and Cyrillic look-alikes inside Latin words', function () {
    for (const text of [
      'stoooop',
      'STOOOOOP!!',
      'paraaaa',
      'par\u0430\u0430\u0430',
      'st\u043ep',
      'Basssta',
      'İPTAL',
      'beni cikarin',
    ])
      assert.equal(kind(text), 'opt-out', text);
    // A run cut to two letters when only that spelling is a word the rules know.
    assert.equal(kind('pleeease dont calllll me again'), 'opt-out');
    // Real Cyrillic words are left alone.
    assert.equal(kind('стоп'), 'none');
  });

  it('classifies a message in any language when the fallback language is "auto"', function () {
    const auto = new OptOutClassifier({ fallbackLanguage: 'auto' });
    for (const [text, language] of [
      ['STOP', 'en'],
      ['non chiamatemi più', 'it'],
      ['geen berichten meer', 'nl'],
      ['berhenti kirim pesan', 'id'],
      ['beni aramayın', 'tr'],
      ['no me llamen más', 'es'],
    ] as const) {
      const r = auto.classify(text);
      assert.equal(r.kind, 'opt-out', text);
      assert.equal(r.language, language, text);
    }
    assert.equal(auto.classify('thanks').language, 'en');
  });

  it('says which phrase decided and which look-alikes it set aside', function () {
    const r = classifier.classify("I don't want to unsubscribe, but please stop calling me at work");
    assert.equal(r.kind, 'opt-out');
    assert.equal(r.matched, 'stop calling');
    assert.match(r.rule ?? '', /^en: /);
    assert.deepEqual(
      r.ignored.map((i) => [i.matched, i.why]),
      [['unsubscribe', 'negated']],
    );
    const q = classifier.classify('What happens if I reply STOP?');
    assert.equal(q.kind, 'help');
  });

  it('reads speech-recognition output: lower case, no punctuation, fillers, spelled-out numbers', function () {
    assert.equal(kind('uh yeah um can you take me off your calling list'), 'opt-out');
    assert.equal(kind('remove my number five five five one two three four from your list'), 'opt-out');
    assert.equal(kind('i dont want you to call me anymore'), 'opt-out');
    assert.equal(kind('the number is five five five one two three four'), 'none');
    assert.equal(kind('i need to stop payment on a check'), 'none');
  });

  it('reads emoji-only and punctuation-only replies as none, but the stop sign as STOP', function () {
    // Postscript unsubscribes on a "STOP" emoji; no other list we read names an emoji (docs/opt-out-detection.md).
    for (const text of ['✋', '👎', '❌', '🙅‍♀️', '🚫📵', '😡😡', '?', '...', '!!!', '??!', '👍', '⏹️'])
      assert.equal(kind(text), 'none', text);
    for (const text of [
      '🛑',
      '🛑🛑',
      '🛑️',
      'STOP 🛑',
      '🛑 STOP',
      'stop ✋',
      '🙅 unsubscribe',
      '🛑 calling me please',
    ])
      assert.equal(kind(text), 'opt-out', text);
    assert.equal(kind("I'm at the 🛑, call you later"), 'none');
    // An iPhone reaction to an SMS arrives as text quoting the message reacted to.
    for (const text of [
      'Disliked “Reply STOP to opt out”',
      'Liked "Text STOP to end"',
      'Questioned “Reply STOP to opt out”',
    ])
      assert.equal(kind(text), 'none', text);
  });

  it('sets aside a keyword used as a noun ("at the bus stop"), and reads "make it stop"', function () {
    const r = classifier.classify("I'm at the bus stop, call you later");
    assert.equal(r.kind, 'none');
    assert.equal(r.ignored[0]?.why, 'noun');
    for (const text of [
      'im at the bus stop calling you',
      'meet me at the next stop text me when you get there',
    ])
      assert.equal(kind(text), 'none', text);
    for (const text of [
      'Please make the texts stop',
      'make it stop!',
      'put a stop to these calls',
      'I said stop calling me',
      // The keyword said twice: one ends the noun, the other starts the request.
      "I'm at the bus stop stop texting me",
      'im at the bus stop stop stop calling me',
    ])
      assert.equal(kind(text), 'opt-out', text);
    assert.equal(kind('make it stop raining'), 'none');
    // Said twice with nothing after it, it is still the noun's (a stutter in a transcript).
    assert.equal(kind('im at the bus stop stop'), 'none');
  });

  it("sets aside someone else's words reported, in each language, but not the person's own report", function () {
    for (const text of [
      'my husband told you to stop calling',
      'My wife said stop texting her',
      'he told me to unsubscribe',
      'my husband told you that you need to stop calling',
      'mi esposo dijo que no me llamen más',
      'meu marido disse pra parar de mandar mensagem',
      "mon mari a dit d'arrêter de m'appeler",
      'mio marito ha detto di smettere di chiamare',
      'mijn man zei dat jullie moeten stoppen met bellen',
      'Sie erhalten keine Nachrichten mehr von dieser Nummer',
      'suami saya bilang jangan telepon lagi',
    ]) {
      const r = classifier.classify(text);
      assert.equal(r.kind, 'none', text);
      assert.ok(
        r.ignored.some((i) => i.why === 'reported'),
        `${text}: ${JSON.stringify(r.ignored)}`,
      );
    }
    for (const text of [
      'I told you to stop calling me',
      'I said stop calling me',
      'my husband told you to stop calling. Stop calling!',
      'He told me you would call, stop calling me',
    ])
      assert.equal(kind(text), 'opt-out', text);
  });

  it('reads a keyword sent with a service or brand code, and a published keyword only in its own market', function () {
    for (const text of ['RET ACME', 'EMARKA RET', 'UNREG QURAN', 'Stop 34990', 'STOP ACME'])
      assert.equal(kind(text), 'opt-out', text);
    // A coded opt-in lifts a block: only where the node's language is the keyword's.
    assert.equal(kind('REG HUMOR'), 'none');
    assert.equal(new OptOutClassifier({ fallbackLanguage: 'id' }).classify('REG HUMOR').kind, 'opt-in');
    // All-capitals ordinary phrases are not a keyword with a code.
    for (const text of ['BUS STOP', 'NEXT STOP', 'OFF TODAY', 'LIGHTS OFF', 'RANDEVU İPTAL', 'RET EDILDI'])
      assert.equal(kind(text), 'none', text);
    // A code is capitals or digits the rules do not know: ordinary words are not codes.
    for (const text of ['stop sign', 'Stop that', 'RET is a word'])
      assert.notEqual(
        classifier.classify(text).rule,
        `keyword with a code: ${text.split(' ')[0].toUpperCase()}`,
        text,
      );
    assert.equal(kind('FINE'), 'none');
    assert.equal(new OptOutClassifier({ fallbackLanguage: 'it' }).classify('FINE').kind, 'opt-out');
    assert.equal(new OptOutClassifier({ fallbackLanguage: 'it' }).classify('Va bene, fine.').kind, 'none');
  });

  it('reads instruction footers as none, even with the keyword quoted or named as a word', function () {
    for (const text of [
      'Text "STOP" to stop receiving any messages from this number.',
      "Reply 'STOP' to unsubscribe from our updates.",
      'NETWORK MSG: You replied with the word "stop" which blocks all texts sent from this number. Text back "unstop" to receive messages again.',
      'Reply HELP for help. STOP to cancel.',
      'Texter ARRET pour ##### pour annuler.',
      'Stuur dan onmiddellijk het woord STOP naar het nummer in kwestie.',
    ])
      assert.equal(kind(text), 'none', text);
    for (const text of [
      'I would appreciate if you would stop calling me',
      "I'd appreciate it if you stopped texting me",
      'I would like the text messages to stop',
    ])
      assert.equal(kind(text), 'opt-out', text);
  });

  it('refuses a pattern it would compile wrongly (nested groups, $ or ~N inside a group)', function () {
    const compile = (source: string) =>
      compilePattern({ kind: 'opt-out', source, confidence: 1, restrictable: false }, 'en', {});
    for (const source of ['(a (b|c)|d)', '(x [y] z)', '(a|$)', '[a ~2 b]'])
      assert.throws(() => compile(source), /nested group/, source);
    for (const source of ['stop $', 'rufen ~3 an', '(a|b) [c|d e]'])
      assert.doesNotThrow(() => compile(source));
  });

  /** Every compiled pattern of every lexicon (phrases, complaints, reported frames) and an index of them. */
  function compiledIndex(): { patterns: CompiledPattern[]; index: PatternIndex } {
    const patterns = [universal, ...LEXICONS].flatMap((lexicon) =>
      [
        ...lexicon.patterns,
        ...[...(lexicon.complaints ?? []), ...(lexicon.reported ?? [])].map(
          (source) => ['opt-out', source] as const,
        ),
      ].flatMap(([kind, source, confidence, flag]) =>
        compilePattern(
          { kind, source, confidence: confidence ?? 0.9, restrictable: flag === 'r' },
          lexicon.language,
          lexicon.classes,
        ),
      ),
    );
    const index = new PatternIndex();
    for (const pattern of patterns) index.add(pattern);
    return { patterns, index };
  }

  it('looks patterns up by first word and rules out those whose second word cannot come next, never one that matches (both sets)', function () {
    // Against the brute force the index saves: every pattern tried at every word of every utterance.
    const { patterns, index } = compiledIndex();
    const politeness = tokenSet(...[universal, ...LEXICONS].map((l) => l.politeness));
    let matches = 0;
    let ruledOut = 0;
    for (const row of [...loadUtterances(), ...loadUtterances('utterances-external.tsv')]) {
      const tk = tokenise(row.text);
      const ctx = { norm: tk.norm, clause: tk.clause, segment: tk.segment, trailing: politeness };
      for (let i = 0; i < tk.norm.length; i++) {
        const candidates = new Set(index.candidates(tk.norm[i], tk.norm[i + 1]));
        for (const pattern of patterns) {
          const first = pattern.elements[0];
          if (first.t !== 'alt' || !first.alts.some((alt) => alt[0] === tk.norm[i])) continue;
          if (matchAt(pattern, ctx, i) > i) {
            matches += 1;
            assert.ok(
              candidates.has(pattern),
              `${pattern.language}: ${pattern.source} left out for "${row.text}"`,
            );
          } else if (!candidates.has(pattern)) ruledOut += 1;
        }
      }
    }
    assert.ok(matches > 1000, `the sets exercise the index (${matches} matches)`);
    assert.ok(ruledOut > 1000, `the index rules patterns out (${ruledOut})`);
  });

  it('keeps every pattern for each way its own alternatives can begin it (every compiled pattern)', function () {
    // Word sequences built from each pattern: every alternative of its first two elements (an optional
    // second one also left out, a gap empty or one stranger word), then one way through the rest. Each
    // one the pattern matches must find the pattern in the index.
    const { patterns, index } = compiledIndex();
    const word = (w: string) => (w.endsWith('*') ? w.slice(0, -1) : w);
    const choices = (element: CompiledPattern['elements'][number], all: boolean): string[][] => {
      if (element.t === 'end') return [];
      if (element.t === 'gap') return all ? [[], ['qqq']] : [[]];
      const alts = (all ? element.alts : element.alts.slice(0, 1)).map((alt) => alt.map(word));
      return element.optional ? [...alts, []] : alts;
    };
    let checked = 0;
    for (const pattern of patterns) {
      const [head, second, ...rest] = pattern.elements;
      const tail: string[] = [];
      for (const element of rest) {
        if (element.t === 'end') break;
        tail.push(...(choices(element, false)[0] ?? []));
      }
      const seconds = second === undefined ? [[]] : second.t === 'end' ? [[]] : choices(second, true);
      for (const first of choices(head, true))
        for (const next of seconds) {
          const norm = [...first, ...(second?.t === 'end' ? [] : next), ...(second?.t === 'end' ? [] : tail)];
          const ctx = {
            norm,
            clause: norm.map(() => 0),
            segment: norm.map(() => 0),
            trailing: new Set<string>(),
          };
          if (norm.length === 0 || matchAt(pattern, ctx, 0) <= 0) continue;
          checked += 1;
          assert.ok(
            index.candidates(norm[0], norm[1]).includes(pattern),
            `${pattern.language}: ${pattern.source} left out for "${norm.join(' ')}"`,
          );
        }
    }
    assert.ok(checked > patterns.length, `${checked} sequences for ${patterns.length} patterns`);
  });

  it('reads a stretched word with its own double letters kept ("arrêteeeez" = "arretez")', function () {
    assert.equal(classifier.classify('arrêteeeez').words, 'arretez');
    assert.equal(classifier.classify('stoooop').words, 'stop');
    assert.equal(classifier.classify('callll me never').words, 'call me never');
  });

  it('reads "if I wanted to opt out I would tell you" as a remark (none), and asking what STOP does as help', function () {
    for (const text of [
      "If I wanted you to stop texting I'd tell you",
      'Wenn ich keine Nachrichten mehr wollte, würde ich es Ihnen schon sagen',
      'Als ik me wilde afmelden, zou ik dat heus wel zeggen',
      'si je voulais me désabonner je vous le dirais',
      'si quisiera darme de baja se lo diría',
    ])
      assert.equal(kind(text), 'none', text);
    assert.equal(kind('what would happen if I reply STOP?'), 'help');
  });

  it("keeps requests that only look like footers, reports or help: the person's own words decide", function () {
    for (const text of [
      'I need help to unsubscribe',
      'Necesito ayuda para cancelar la suscripción',
      'Hilfe zum abmelden',
      'Tolong untuk berhenti kirim pesan',
      'I replied "STOP" yesterday, stop texting me',
      "I replied 'no' so stop calling me",
      'I said the word STOP, stop texting me',
      'Saya sudah kata stop, jangan kirim pesan lagi',
      "he said that's fine but stop calling me",
      'Ele disse que tudo bem mas não quero mais receber mensagens',
      'Dia bilang oke tapi jangan kirim pesan lagi',
      'Stop sending me texts, wrong number',
      'Parem de enviar mensagens para este número',
    ])
      assert.equal(kind(text), 'opt-out', text);
    assert.equal(kind('wrong'), 'none');
    // Published opt-in words that mean other things count only in the node's own language.
    assert.equal(new OptOutClassifier({ fallbackLanguage: 'it' }).classify('inizia').kind, 'opt-in');
    assert.equal(kind('inizia'), 'none');
  });

  it('keeps no message text in memory once classified (the cache holds copies of rule words only)', function () {
    this.timeout(30_000);
    const probe = join(__dirname, 'support', 'optout-heap-probe.js');
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', probe], { encoding: 'utf8' })) as {
      found: boolean;
      kept: boolean;
    };
    assert.deepEqual(out, { found: false, kept: true });
  });

  it('is deterministic and survives odd input', function () {
    const text = 'Por favor, dejen de enviarme promociones!!!';
    assert.deepEqual(classifier.classify(text), classifier.classify(text));
    for (const odd of ['', '   ', '🛑🛑', 'constructor', '__proto__', 'toString please', 'x'.repeat(5000)])
      assert.ok(KINDS.includes(classifier.classify(odd).kind), odd.slice(0, 20));
  });

  it('names the channels and topics an opt-out is about', function () {
    const r = classifier.classify('stop calling me about your offers and stop texting me');
    assert.deepEqual(r.channels.sort(), ['sms', 'voice']);
    assert.deepEqual(r.topics, ['marketing']);
  });

  it('maps labels: first matching rule per channel the opt-out concerns, else the default', function () {
    const mapping = new LabelMapping({
      defaultLabels: ['DNC_Global'],
      rules: [
        { topic: 'marketing', labels: ['DNC_Sales'] },
        { channel: 'sms', labels: 'DNC_SMS' },
      ],
    });
    const labels = (text: string, channel: string | null) =>
      mapping.labelsFor(classifier.classify(text), channel);
    assert.deepEqual(labels('stop calling me about offers', 'voice'), ['DNC_Sales']);
    assert.deepEqual(labels('STOP', 'sms'), ['DNC_SMS']);
    assert.deepEqual(labels('stop', 'voice'), ['DNC_Global']);
    assert.deepEqual(labels('stop', null), ['DNC_Global']);
    assert.throws(() => new LabelMapping({ rules: [{ topic: 'sales', labels: [] }] }), /no labels/);
    assert.throws(() => new LabelMapping({ defaultLabels: ['bad name'] }), /not a valid label name/);
  });

  it('gives one confirmation per language, spoken for voice, with no marketing', function () {
    for (const language of ['en', 'es', 'fr', 'de', 'pt', 'hi', 'hi-Latn', 'it', 'nl', 'id', 'tr']) {
      const text = confirmationFor(language, { channel: 'sms', sender: 'Acme' });
      assert.match(text, /^Acme: /);
      assert.match(text, /START/);
      assert.doesNotMatch(
        text,
        /offer|sale|discount|promo|oferta|angebot|desconto|offert|aanbieding|diskon|kampanya|indirim/i,
      );
      assert.doesNotMatch(confirmationFor(language, { channel: 'voice' }), /START/);
    }
    assert.equal(confirmationFor('xx'), confirmationFor('en'));
    const detector = new OptOutDetector({ mapping: { defaultLabels: ['DNC_Global'] } });
    assert.equal(detector.detect('HELP').confirmation, null);
    assert.match(detector.detect('arrêtez de m’envoyer des SMS').confirmation ?? '', /désabonné/);
  });
});
