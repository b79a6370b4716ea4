/**
 * `dnc-registry-lookup` ("external registry lookup"): is this number on a national Do-Not-Call registry?
 * Output 1 not listed, output 2 listed, output 3 could not check (stale data, service down, a number that
 * is not a phone number). `msg.dnc` = { result, contact, registries: [{ registry, name, number, result,
 * asOf, reason, detail }], checkedAt }. A list in gives lists out (as in Check DNC): output 1 the items not
 * listed (as given), output 2 and 3 `{ item, result }` entries; all three outputs are sent, each with
 * `msg.dnc.summary`. A service registry is asked once per list (in its batches). The result is merged into
 * an existing msg.dnc by the rule of shared/result.ts.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { ContactParser } from '../lib/contacts';
import { DncError } from '../lib/errors';
import {
  lookupNumbers,
  registryOutcome,
  scoped,
  type ContactRegistryResult,
  type RegistryOutcome,
} from '../lib/registries/check';
import { type CodedError } from './shared/errors';
import { handleInput, type Send, setupFailed, startNode } from './shared/lifecycle';
import { prepareContact, type PreparedProperty } from './shared/inputs';
import { linkRegistries, registriesStatus, registryIds } from './shared/registry';
import { ownedFields, putResult } from './shared/result';
import { STATUS } from './shared/status';

interface DncRegistryLookupDef extends NodeDef {
  registries?: unknown;
  registry?: string;
  contact?: string;
  contactType?: string;
  defaultCountry?: string;
}

interface ContactLookup {
  readonly result: RegistryOutcome;
  /** The phone number looked up (E.164), or null when the contact is not a phone number. */
  readonly contact: string | null;
  readonly registries: readonly ContactRegistryResult[];
  /** Why it could not be checked, when the contact itself is the problem. */
  readonly detail?: string;
}

const OUTPUT: Record<RegistryOutcome, 0 | 1 | 2> = { 'not-listed': 0, listed: 1, 'could-not-check': 2 };

/** The fields of msg.dnc a registry lookup owns: one contact's lookup, and a list's (shared/result.ts). */
const OWNED = ownedFields(['result', 'contact', 'registries', 'detail', 'checkedAt'], ['summary']);

export = function (RED: NodeAPI) {
  function DncRegistryLookup(this: Node, def: DncRegistryLookupDef) {
    const { node, t, status } = startNode(RED, this, def, 'dnc-registry-lookup');
    let setupError: CodedError | null = null;
    let parser: ContactParser | null = null;
    let contactProp: PreparedProperty | null = null;
    const ids = registryIds(def.registries, def.registry);
    const links = linkRegistries(RED, ids, (bindings) => {
      const shown = registriesStatus(bindings, t);
      if (shown !== null) status.show(shown, true);
      else status.ready();
    });
    try {
      if (ids.length === 0) {
        throw new DncError('DNC_INVALID_INPUT', 'no registry selected: add at least one DNC registry', {
          field: 'registries',
        });
      }
      if (links.failure !== null) throw links.failure;
      const country = typeof def.defaultCountry === 'string' ? def.defaultCountry.trim() : '';
      parser = new ContactParser({ defaultCountry: country === '' ? undefined : country });
      contactProp = prepareContact(RED, node, def);
      const initial = registriesStatus(links.bindings, t);
      if (initial !== null) status.show(initial, true);
      else status.ready();
    } catch (err) {
      setupError = setupFailed(node, status, err);
    }

    /** The E.164 number of a contact (with the state it gives, for state lists), or why it has none. */
    function phoneOf(item: unknown): { phone: string; region: string | undefined } | { detail: string } {
      const parsed = parser!.tryParse(item);
      if (parsed instanceof DncError) return { detail: parsed.message };
      const phone = parsed.keys.find((k) => k.charCodeAt(0) === 43);
      return phone === undefined
        ? { detail: 'the contact has no phone number' }
        : { phone, region: parsed.hints?.region };
    }

    async function lookUp(items: readonly unknown[]): Promise<ContactLookup[]> {
      const phones = items.map(phoneOf);
      const distinct = [...new Set(phones.flatMap((p) => ('phone' in p ? [p.phone] : [])))];
      const answers = await lookupNumbers(links.sources, distinct, Date.now());
      return phones.map((p): ContactLookup => {
        if (!('phone' in p)) {
          return { result: 'could-not-check', contact: null, registries: [], detail: p.detail };
        }
        // A state list answers only for its state's callees (lib/registries/check.ts).
        const registries = answers.map((map, i) => scoped(links.sources[i], map.get(p.phone)!, p.region));
        return { result: registryOutcome(registries), contact: p.phone, registries };
      });
    }

    async function handle(msg: NodeMessageInFlow, send: Send): Promise<void> {
      const contact = contactProp!.async ? await contactProp!.evaluate(msg) : contactProp!.get(msg);
      const checkedAt = new Date().toISOString();
      if (Array.isArray(contact)) {
        const items: readonly unknown[] = contact;
        const results = await lookUp(items);
        const out: [unknown[], unknown[], unknown[]] = [[], [], []];
        results.forEach((r, i) => {
          if (r.result === 'not-listed') out[0].push(items[i]);
          else out[OUTPUT[r.result]].push({ item: items[i], result: r });
        });
        const summary = {
          total: items.length,
          notListed: out[0].length,
          listed: out[1].length,
          couldNotCheck: out[2].length,
        };
        msg.payload = out[0];
        const dnc = putResult(msg, OWNED, {
          summary,
          checkedAt,
          registries: links.bindings.map((b) => b.id),
        });
        // Node-RED clones every message after the first it sends: shallow copies are enough.
        send([msg, { ...msg, payload: out[1], dnc }, { ...msg, payload: out[2], dnc }]);
        if (summary.couldNotCheck > 0) {
          status.show(
            STATUS.error(t('status.batchUnchecked', { count: summary.couldNotCheck, total: summary.total })),
          );
        } else if (summary.listed > 0)
          status.blocked('status.batchListed', { count: summary.listed, total: summary.total });
        else status.ok('status.batchNotListed', { total: summary.total });
        return;
      }
      const [lookup] = await lookUp([contact]);
      putResult(msg, OWNED, { ...lookup, checkedAt });
      const outputs: (NodeMessage | null)[] = [null, null, null];
      outputs[OUTPUT[lookup.result]] = msg;
      send(outputs);
      if (lookup.result === 'not-listed') status.ok('status.notListed');
      else if (lookup.result === 'listed') {
        const on = lookup.registries.find((r) => r.result === 'listed');
        status.blocked('status.listed', { registry: on?.registry ?? '' });
      } else status.show(STATUS.error(t('status.couldNotCheck')));
    }

    /**
     * `msg.topic` "reload": a flow that has just written a registry file loads it now, optionally with
     * its as-of date in `msg.asOf` (YYYY-MM-DD; blank, unparseable or future dates are refused) and one
     * registry id in `msg.registry` (default: every file registry of the node). Nothing is sent; a refused
     * load (no numbers, far fewer than before, a bad date) ends with an error for a Catch node.
     */
    async function reload(msg: NodeMessageInFlow): Promise<void> {
      const { asOf, registry } = msg as { asOf?: unknown; registry?: unknown };
      if (asOf !== undefined && typeof asOf !== 'string') {
        throw new DncError('DNC_INVALID_INPUT', 'msg.asOf must be a date as text (YYYY-MM-DD)', {
          field: 'asOf',
        });
      }
      if (registry !== undefined && typeof registry !== 'string') {
        throw new DncError('DNC_INVALID_INPUT', 'msg.registry must be a registry id', { field: 'registry' });
      }
      const targets = links.bindings.filter(
        (b) => b.reload !== null && (registry === undefined || b.id === registry),
      );
      if (targets.length === 0) {
        throw new DncError(
          'DNC_INVALID_INPUT',
          registry === undefined
            ? 'this node has no file registry to reload'
            : `this node has no file registry "${registry}"`,
          { field: 'registry' },
        );
      }
      for (const binding of targets) {
        let outcome;
        try {
          outcome = await binding.reload!(asOf);
        } catch (err) {
          throw new DncError('DNC_INVALID_INPUT', `registry ${binding.id}: ${(err as Error).message}`, {
            field: 'asOf',
          });
        }
        if (!outcome.ok) {
          throw new DncError(
            'DNC_INVALID_INPUT',
            `registry ${binding.id}: ${outcome.error?.message ?? 'the load failed'}`,
            { field: 'registry' },
          );
        }
      }
    }

    handleInput(node, status, (msg, send) => (msg.topic === 'reload' ? reload(msg) : handle(msg, send)), {
      setupError,
      fallback: 'DNC_INVALID_INPUT',
      close: () => links.dispose(),
    });
  }

  RED.nodes.registerType('dnc-registry-lookup', DncRegistryLookup);
};
