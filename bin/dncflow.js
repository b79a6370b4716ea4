#!/usr/bin/env node
'use strict';
// The package's command line. `dncflow schema [--schema <name>] [--from <version>] [--grant <role>]`
// prints the SQL that creates (or migrates) the PostgreSQL store's tables, for a schema owner to run
// when the role the instances use may not create objects, and with --grant the least privilege that
// role needs (README, "PostgreSQL store").
const { grantSql, migrationSql, SCHEMA_VERSION } = require('../dist/lib/store/postgres/schema.js');

const USAGE = 'usage: dncflow schema [--schema <name>] [--from <version>] [--grant <role>]';

function main(argv) {
  const [command, ...rest] = argv;
  if (command !== 'schema') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let schema = 'dnc';
  let from = 1;
  let role;
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    if (rest[i] === '--schema' && value !== undefined) schema = value;
    else if (rest[i] === '--from' && /^\d+$/.test(value ?? '')) from = Number(value);
    else if (rest[i] === '--grant' && value !== undefined) role = value;
    else {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
  }
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

process.exitCode = main(process.argv.slice(2));
