#!/usr/bin/env node
'use strict';
// The package's command line.
// - `dncflow schema [--schema <name>] [--from <version>] [--grant <role>]` prints the SQL that creates (or
//   migrates) the PostgreSQL store's tables, for a schema owner to run when the role the instances use may
//   not create objects, and with --grant the least privilege that role needs (README, "PostgreSQL store").
// - `dncflow migrate --from <source> --to <target> [--schema <name>] [--key <key file or key>]` moves a
//   store between the embedded files (a user directory or a store .json file) and PostgreSQL (a
//   postgres:// URL), either way (lib/store/migrate.ts).

const USAGE = [
  'usage: dncflow schema [--schema <name>] [--from <version>] [--grant <role>]',
  '       dncflow migrate --from <user dir | store .json | postgres://...> --to <user dir | store .json | postgres://...>',
  '                       [--schema <name>] [--key <key file or key>]',
].join('\n');

/** `--name value` pairs; undefined when an option is unknown, repeated or has no value. */
function options(rest, known) {
  const found = {};
  for (let i = 0; i < rest.length; i += 2) {
    const name = rest[i];
    const value = rest[i + 1];
    if (!name.startsWith('--') || !known.includes(name.slice(2)) || value === undefined) return undefined;
    if (found[name.slice(2)] !== undefined) return undefined;
    found[name.slice(2)] = value;
  }
  return found;
}

function usage() {
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

function schemaCommand(rest) {
  const { grantSql, migrationSql, SCHEMA_VERSION } = require('../dist/lib/store/postgres/schema.js');
  const given = options(rest, ['schema', 'from', 'grant']);
  if (given === undefined || (given.from !== undefined && !/^\d+$/.test(given.from))) return usage();
  const schema = given.schema ?? 'dnc';
  const from = given.from === undefined ? 1 : Number(given.from);
  const role = given.grant;
  try {
    const grants =
      role === undefined ? '' : `-- least privilege for the instances' role\n${grantSql(schema, role)}`;
    process.stdout.write(
      `-- DNC Flow PostgreSQL store, schema version ${SCHEMA_VERSION}\n${migrationSql(schema, from)}${grants}`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`dncflow: ${error.message}\n`);
    return 2;
  }
}

async function migrateCommand(rest) {
  const { migrateStore, describeMigration } = require('../dist/lib/store/migrate.js');
  const given = options(rest, ['from', 'to', 'schema', 'key']);
  if (given === undefined || given.from === undefined || given.to === undefined) return usage();
  try {
    const report = await migrateStore({
      from: given.from,
      to: given.to,
      schema: given.schema,
      key: given.key,
      logger: { warn: (message) => process.stderr.write(`dncflow: ${message}\n`) },
    });
    process.stdout.write(`${describeMigration(report).join('\n')}\n`);
    return 0;
  } catch (error) {
    // The message only: never a stack (and the messages never carry a password).
    process.stderr.write(`dncflow: ${error.code ? `${error.code}: ` : ''}${error.message}\n`);
    return 1;
  }
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'schema') return schemaCommand(rest);
  if (command === 'migrate') return migrateCommand(rest);
  return usage();
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`dncflow: ${error.message}\n`);
    process.exitCode = 1;
  },
);
