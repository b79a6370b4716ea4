/**
 * `dnc-registry` ("DNC registry", config node): one national Do-Not-Call registry source.
 * - kind `file`: a FileRegistry over a file or a folder (full lists, change lists, zips), with the registry's
 *   layout, a binary index beside it, reloads when the files change and on an optional schedule;
 * - kind `service`: a ServiceRegistrySource (a wash or lookup service) whose answer a JSONata expression
 *   maps to listed / not listed per number. The API key is a credential (`{apiKey}` in the URL or headers).
 * - registry `US_RND` (whatever the kind): a ReassignedNumbersSource, the FCC Reassigned Numbers Database
 *   through a Lookup service; the account SID and the auth token (`apiKey`) are credentials.
 * It owns the source: started here, closed on close. It never throws: an invalid configuration is reported
 * with node.error, and every node using it fails closed with the error's code. The configuration's rules
 * are lib/registries/options.ts; the status texts are this node's catalog (`status.*`).
 */
import { resolve } from 'node:path';
import type { NodeAPI, NodeDef } from 'node-red';
import type { RegistrySource } from '../lib/registries/check';
import {
  commonRegistryOptions,
  fileRegistryOptions,
  reassignedNumbersOptions,
  registryIdOf,
  RND_REGISTRY,
  serviceMappingOf,
  serviceRegistryOptions,
  type RegistryDefinition,
} from '../lib/registries/options';
import { FileRegistry, type RegistryStatus } from '../lib/registries/registry';
import type { RegistryLoadProgress } from '../lib/registries/registry-loader';
import { ReassignedNumbersSource } from '../lib/registries/reassigned-numbers';
import type { ServiceRequestEvent } from '../lib/registries/service-options';
import { ServiceRegistrySource } from '../lib/registries/service-source';
import { toCodedError } from './shared/errors';
import { translator, type Translate } from './shared/i18n';
import { evaluateJsonata } from './shared/inputs';
import { RegistryBinding, registerLiveRegistry, type DncRegistryNode } from './shared/registry';
import { STATUS } from './shared/status';
import { userDir } from './shared/user-dir';

type DncRegistryDef = NodeDef & RegistryDefinition;

const STATE_POLL_MS = 60_000;

/** `03-01 (.asof)`: the data's as-of day and where that date came from (a status shows 19 characters). */
function dataText(t: Translate, status: RegistryStatus): string {
  const day = status.asOf?.slice(5, 10) ?? '?';
  return status.asOfSource
    ? t('status.dataFrom', { day, source: t(`status.asOfSource.${status.asOfSource}`) })
    : day;
}

/** A refusal's reason, short enough for a node status. */
function refusalText(t: Translate, status: RegistryStatus): string {
  return t(`status.refused.${status.refused ?? 'failed'}`);
}

export = function (RED: NodeAPI) {
  function DncRegistry(this: DncRegistryNode, def: DncRegistryDef) {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- used in plain callbacks below
    const node = this;
    node.name = def.name;
    const id = registryIdOf(def);
    const label = def.name || id;
    const t = translator(RED, 'dnc-registry');
    let binding: RegistryBinding;
    let source: (RegistrySource & { close(): Promise<void>; status(): object }) | null = null;
    let poll: NodeJS.Timeout | null = null;

    const showProgress = (progress: RegistryLoadProgress) => {
      const percent = Math.floor(progress.percent);
      binding.set({ state: 'loading', percent });
      node.status(STATUS.waiting(t('status.loadingPercent', { percent })));
    };

    /** A service's state after each request: unavailable while its circuit is open. */
    const serviceEvent = (event: ServiceRequestEvent, circuit: string) => {
      if (circuit === 'open') {
        binding.set({ state: 'unavailable', detail: event.error });
        node.status(STATUS.error(t('status.serviceUnavailable')));
      } else {
        binding.set({ state: 'ready' });
        node.status(STATUS.ok(t('status.ready')));
      }
      if (!event.ok) node.warn(`registry ${id}: ${event.error ?? 'request failed'}`);
    };

    /** A service-backed source: ready at once, and ready again once its circuit closes. */
    const watchCircuit = (circuit: () => string): NodeJS.Timeout => {
      binding.set({ state: 'ready' });
      node.status(STATUS.ok(t('status.ready')));
      return setInterval(() => {
        if (circuit() !== 'open' && binding.info.state === 'unavailable') binding.set({ state: 'ready' });
      }, 5000);
    };

    try {
      if (id === RND_REGISTRY) {
        const credentials = (node.credentials ?? {}) as { accountSid?: string; apiKey?: string };
        const rnd: ReassignedNumbersSource = new ReassignedNumbersSource({
          ...reassignedNumbersOptions(def),
          name: def.name || 'FCC Reassigned Numbers Database',
          accountSid: credentials.accountSid ?? '',
          authToken: credentials.apiKey ?? '',
          onRequest: (event) => serviceEvent(event, rnd.status().circuit),
        });
        source = rnd;
        binding = new RegistryBinding(rnd, null, id, label);
        poll = watchCircuit(() => rnd.status().circuit);
      } else if (def.kind === 'service') {
        const common = commonRegistryOptions(def);
        const expr = RED.util.prepareJSONataExpression(serviceMappingOf(def), node);
        const options = serviceRegistryOptions(def, common);
        const credentials = (node.credentials ?? {}) as { apiKey?: string };
        const service = new ServiceRegistrySource({
          ...options,
          name: label,
          secrets: credentials.apiKey ? { apiKey: credentials.apiKey } : {},
          mapResponse: (payload, numbers, context) =>
            evaluateJsonata(RED, expr, {
              payload,
              numbers: [...numbers],
              sent: [...context.sent],
              statusCode: context.status,
            }) as Promise<Record<string, unknown>>,
          onRequest: (event) => serviceEvent(event, service.status().circuit),
        });
        source = service;
        binding = new RegistryBinding(service, null, id, label);
        poll = watchCircuit(() => service.status().circuit);
      } else {
        const options = fileRegistryOptions(def, commonRegistryOptions(def));
        const file: FileRegistry = new FileRegistry({
          ...options,
          name: label,
          source: resolve(userDir(RED), options.source),
          onProgress: (progress) => showProgress(progress),
          onLoad: (outcome) => {
            if (!outcome.ok) {
              node.error(`registry ${id}: load failed: ${outcome.error?.message ?? 'unknown error'}`);
            }
            for (const warning of outcome.warnings) node.warn(`registry ${id}: ${warning}`);
            if (outcome.malformedLines) {
              node.warn(`registry ${id}: ${outcome.malformedLines} line(s) did not parse`);
            }
            refresh();
          },
        });
        source = file;
        binding = new RegistryBinding(file, null, id, label);
        const refresh = () => {
          const status = file.status();
          // A refused or failed reload keeps the previous data, which still answers: the using nodes
          // show the refusal in red all the same, so that someone looks at the download.
          const refused = status.lastError !== null ? refusalText(t, status) : undefined;
          if (status.state === 'ready') {
            binding.set({ state: 'ready', refused, detail: refused ? status.lastError! : undefined });
            node.status(
              refused ? STATUS.error(refused) : STATUS.ok(t('status.asOf', { data: dataText(t, status) })),
            );
          } else if (status.state === 'stale') {
            binding.set({
              state: 'stale',
              refused,
              detail: refused ? status.lastError! : `data of ${status.asOf?.slice(0, 10) ?? '?'}`,
            });
            node.status(STATUS.error(refused ?? t('status.stale', { data: dataText(t, status) })));
          } else if (!status.loading) {
            binding.set({ state: 'unavailable', refused, detail: status.lastError ?? 'not loaded' });
            node.status(STATUS.error(refused ?? t('status.notLoaded')));
          }
        };
        // A flow's reload reads the files again only when they changed (a new date alone is cheap).
        binding.reload = (asOfFromMsg) => file.reload({ asOf: asOfFromMsg });
        node.status(STATUS.waiting(t('status.loading')));
        file.start().then(refresh, (err: unknown) => {
          node.error(`registry ${id}: ${err instanceof Error ? err.message : String(err)}`);
          refresh();
        });
        // Data turns stale with time alone.
        poll = setInterval(refresh, STATE_POLL_MS);
      }
      poll.unref();
    } catch (err) {
      const error = toCodedError(err, 'DNC_INVALID_INPUT');
      binding = new RegistryBinding(null, error, id, label);
      node.status(STATUS.error(t('status.invalidConfig')));
      node.error(`invalid DNC registry configuration: ${error.message}`);
    }
    node.dncRegistry = binding;
    const live = source;
    const unregisterLive = registerLiveRegistry(
      node.id,
      binding,
      live === null
        ? null
        : () => ({
            kind: 'file',
            maxAgeDays: (live as { maxAgeDays?: number }).maxAgeDays,
            ...live.status(),
          }),
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      unregisterLive();
      if (poll !== null) clearInterval(poll);
      binding.close();
      node.status({});
      const s = source;
      source = null;
      if (s === null) {
        done();
        return;
      }
      s.close().then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType('dnc-registry', DncRegistry, {
    credentials: { apiKey: { type: 'password' }, accountSid: { type: 'text' } },
  });
};
