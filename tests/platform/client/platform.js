#!/usr/bin/env node
// The PumpFlix platform's side of the template data, as shared/PLATFORM.md describes it:
// its Prisma model "WorkflowTemplate" in PostgreSQL (pg) and its cache in Redis
// (node-redis 4). pumpflix's conformance tests run it as a subprocess, one command a run:
//
//   getTemplates <type>          the platform's list read: cache, else database then cache
//   getTemplate <id>             the platform's single read: cache, else database then cache
//   cacheTemplates <type>        read the type from the database and cache it
//   readDatabase <type>          the database read alone (no cache): what Prisma returns
//   invalidateTemplate <id>      DEL template:<id>, then LREM the id from both lists
//   createTemplate <json>        prisma.workflowTemplate.create({ data: <json> })
//   updateTemplate <id> <json>   prisma.workflowTemplate.update({ where: { id }, data })
//
// Settings: DATABASE_URL, REDIS_URL and PUMPFLIX_CACHE_PREFIX (empty by default, so the
// keys are exactly template:<id> and templates:<type>; tests set one for isolation).
// Output: one JSON document on stdout. Errors: a message on stderr and exit status 1.
'use strict';

const crypto = require('node:crypto');
const pg = require('pg');
const { createClient } = require('redis');

const TYPES = ['prebuilt', 'user'];
const TTL_SECONDS = { prebuilt: 21600, user: 3600 };
const PREFIX = process.env.PUMPFLIX_CACHE_PREFIX || '';
const entryKey = (id) => `${PREFIX}template:${id}`;
const listKey = (type) => `${PREFIX}templates:${type}`;

// Prisma keeps DateTime in TIMESTAMP(3) columns as UTC without a zone: read them as UTC
// (pg's default would read them in the process's local time zone).
pg.types.setTypeParser(pg.types.builtins.TIMESTAMP, (text) => new Date(`${text.replace(' ', 'T')}Z`));

// --- connections, opened on first use ----------------------------------------------------

let db = null;
let redis = null;

async function database() {
  if (db === null) {
    const url = required('DATABASE_URL').replace(/^postgres(ql)?\+\w+:/, 'postgresql:');
    db = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10000 });
    await db.connect();
  }
  return db;
}

async function cache() {
  if (redis === null) {
    redis = createClient({
      url: required('REDIS_URL'),
      socket: { connectTimeout: 10000, reconnectStrategy: false }, // fail, do not retry
    });
    redis.on('error', () => {}); // a failed command rejects; no unhandled 'error' event
    await redis.connect();
  }
  return redis;
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

// --- the model -------------------------------------------------------------------------

// A row as Prisma returns it: the model's field order, Date timestamps (JSON.stringify
// writes them as ISO-8601 with milliseconds and Z), thumbnail null when absent, and a
// NULL scalar list read as [] (Prisma coerces it).
function template(row) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    sourceType: row.sourceType,
    n8nJson: row.n8nJson,
    requiredCredentials: row.requiredCredentials ?? [],
    inputVariables: row.inputVariables ?? [],
    thumbnail: row.thumbnail,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const SELECT = 'select * from "WorkflowTemplate"';

async function readDatabase(type) {
  const { rows } = await (await database()).query(
    `${SELECT} where "sourceType" = $1 order by "createdAt" desc`,
    [sourceType(type)],
  );
  return rows.map(template);
}

async function readOne(id) {
  const { rows } = await (await database()).query(`${SELECT} where "id" = $1`, [id]);
  return rows.length ? template(rows[0]) : null;
}

// --- the read path ---------------------------------------------------------------------

async function getTemplates(type) {
  const redis = await cache();
  const ids = await redis.lRange(listKey(sourceType(type)), 0, -1);
  const values = await Promise.all(ids.map((id) => redis.get(entryKey(id))));
  const cached = values.filter((value) => value !== null).map((value) => JSON.parse(value));
  if (cached.length > 0) return { source: 'cache', templates: cached };
  return { source: 'database', templates: await cacheTemplates(type) };
}

async function getTemplate(id) {
  const redis = await cache();
  const value = await redis.get(entryKey(id));
  if (value !== null) return { source: 'cache', template: JSON.parse(value) };
  const found = await readOne(id);
  if (found !== null) {
    await redis.set(entryKey(id), JSON.stringify(found), { EX: ttl(found.sourceType) });
  }
  return { source: 'database', template: found };
}

// Each entry under its key with the type's TTL, and the list rebuilt in database order.
async function cacheTemplates(type) {
  const templates = await readDatabase(type);
  const write = (await cache()).multi();
  for (const found of templates) {
    write.set(entryKey(found.id), JSON.stringify(found), { EX: ttl(type) });
  }
  write.del(listKey(type));
  if (templates.length > 0) write.rPush(listKey(type), templates.map((found) => found.id));
  await write.exec();
  return templates;
}

async function invalidateTemplate(id) {
  const redis = await cache();
  const deleted = await redis.del(entryKey(id));
  const removed = {};
  for (const type of TYPES) removed[type] = await redis.lRem(listKey(type), 0, id);
  return { deleted, removed };
}

// --- the write path: what Prisma's create and update send --------------------------------

const WRITABLE = [
  'name', 'description', 'sourceType', 'n8nJson', 'requiredCredentials', 'inputVariables',
  'thumbnail', 'createdAt',
];

// Prisma makes the id (uuid()) and both timestamps itself, one millisecond-precision
// "now" per query; a list left out is written as NULL (there is no database default).
async function createTemplate(json) {
  const data = fields(json);
  const now = new Date();
  const row = {
    id: json.id ?? crypto.randomUUID(),
    name: data.name,
    description: data.description ?? '',
    sourceType: data.sourceType,
    n8nJson: data.n8nJson,
    requiredCredentials: data.requiredCredentials ?? null,
    inputVariables: data.inputVariables ?? null,
    thumbnail: data.thumbnail ?? null,
    createdAt: data.createdAt ?? now,
    updatedAt: now,
  };
  const columns = Object.keys(row);
  const { rows } = await (await database()).query(
    `insert into "WorkflowTemplate" (${columns.map(quote).join(', ')})
     values (${columns.map((_, i) => `$${i + 1}`).join(', ')}) returning *`,
    columns.map((column) => parameter(row[column])),
  );
  return template(rows[0]);
}

async function updateTemplate(id, json) {
  const row = { ...fields(json), updatedAt: new Date() };
  const columns = Object.keys(row);
  const { rows } = await (await database()).query(
    `update "WorkflowTemplate" set ${columns.map((c, i) => `${quote(c)} = $${i + 2}`).join(', ')}
     where "id" = $1 returning *`,
    [id, ...columns.map((column) => parameter(row[column]))],
  );
  if (rows.length === 0) throw new Error(`no WorkflowTemplate with id ${id}`);
  return template(rows[0]);
}

// The model's writable fields of a create/update payload; n8nJson is stored as a string
// (an object is stringified the way the platform would), createdAt as a Date.
function fields(json) {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('the template must be a JSON object');
  }
  const unknown = Object.keys(json).filter((key) => key !== 'id' && !WRITABLE.includes(key));
  if (unknown.length > 0) throw new Error(`unknown WorkflowTemplate fields: ${unknown.join(', ')}`);
  const data = {};
  for (const key of WRITABLE) if (json[key] !== undefined) data[key] = json[key];
  if (data.n8nJson !== undefined && typeof data.n8nJson !== 'string') {
    data.n8nJson = JSON.stringify(data.n8nJson);
  }
  if (data.createdAt !== undefined) data.createdAt = new Date(data.createdAt);
  return data;
}

// A Date goes to the TIMESTAMP column as its UTC ISO text (pg would send local time).
function parameter(value) {
  return value instanceof Date ? value.toISOString() : value;
}

const quote = (column) => `"${column}"`;

function sourceType(type) {
  if (!TYPES.includes(type)) throw new Error(`unknown source type ${JSON.stringify(type)}`);
  return type;
}

const ttl = (type) => TTL_SECONDS[sourceType(type)];

// --- the command line ------------------------------------------------------------------

const COMMANDS = {
  getTemplates: [1, getTemplates],
  getTemplate: [1, getTemplate],
  cacheTemplates: [1, cacheTemplates],
  readDatabase: [1, readDatabase],
  invalidateTemplate: [1, invalidateTemplate],
  createTemplate: [1, (json) => createTemplate(JSON.parse(json))],
  updateTemplate: [2, (id, json) => updateTemplate(id, JSON.parse(json))],
};

async function main([name, ...args]) {
  const command = COMMANDS[name];
  if (command === undefined) {
    throw new Error(`usage: platform.js <${Object.keys(COMMANDS).join('|')}> <args>`);
  }
  const [arity, run] = command;
  if (args.length !== arity) throw new Error(`${name} takes ${arity} argument(s)`);
  return run(...args);
}

main(process.argv.slice(2))
  .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
  .catch((error) => {
    process.stderr.write(`platform.js: ${error.message}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (redis !== null) await redis.quit().catch(() => {});
    if (db !== null) await db.end().catch(() => {});
  });
