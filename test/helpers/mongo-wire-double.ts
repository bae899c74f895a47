// Test double for a MongoDB server, spoken to over a real TCP socket by the
// real `mongodb` driver. It stands for a standalone mongod: it answers the
// handshake (legacy OP_QUERY and OP_MSG `hello`), and runs the commands
// MongoStore sends (`insert`, `update`, `delete`, `find`, `createIndexes`,
// `ping`, `endSessions`) on in-memory collections, with the query operators
// MongoStore uses ($in, $nin, $lt, $lte, $gt, $gte, $ne, $exists), sorts,
// limits, `_id` projections, `$set` updates, replacement upserts and
// duplicate-key errors. BSON is the driver's own library.
//
// Where it stays beside FerretDB 1.24 (which the store, lease and cluster tests
// run against wherever it is built): outages on a fixed port mid-test
// (stop()/start() with the driver's connections dropped), a slow server
// (`delayMs`), corrupt documents planted under the driver's nose, the indexes
// MongoStore asks for (recorded as sent) — and machines without Go, where the
// tests run on it alone.
//
// What it cannot check: indexes (it records them, never uses them), query
// plans and performance, transactions, sessions and retryable-write
// semantics, write concerns and durability, replica sets and failover, auth,
// cursors over several batches (everything comes in the first batch), and the
// full query language. A real MongoDB covers those: the same contract suite
// runs against one whenever MONGODB_URI is set.
//
// Test controls: stop()/start() (an outage: connections dropped, port closed,
// then back on the same port), `delayMs` (a slow server), and direct access to
// the documents (`collection()`) to plant corrupt ones.
import { createServer, type Server, type Socket } from 'node:net';
import { BSON, type Document } from 'mongodb';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

type Doc = Record<string, unknown>;

export class MongoWireDouble {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly collections = new Map<string, Map<string, Doc>>();
  readonly indexes = new Map<string, Document[]>();
  readonly commands: string[] = [];
  delayMs = 0;
  port = 0;

  async start(): Promise<string> {
    this.server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return `mongodb://127.0.0.1:${this.port}/hub_test`;
  }

  /** An outage: every connection is dropped and the port closed. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  collection(ns: string): Map<string, Doc> {
    let c = this.collections.get(ns);
    if (!c) this.collections.set(ns, (c = new Map()));
    return c;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    let chain = Promise.resolve();
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const message = pending.subarray(0, pending.readInt32LE(0));
        pending = pending.subarray(message.length);
        chain = chain.then(() => this.answer(socket, Buffer.from(message)));
      }
    });
  }

  private async answer(socket: Socket, message: Buffer): Promise<void> {
    const requestId = message.readInt32LE(4);
    const opCode = message.readInt32LE(12);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (socket.destroyed) return;
    if (opCode === OP_QUERY) {
      // legacy handshake: flags, collection name, skip, return, query
      let at = 20;
      while (message[at] !== 0) at++;
      at += 1 + 8;
      const query = BSON.deserialize(message.subarray(at, at + message.readInt32LE(at)));
      socket.write(this.reply(OP_REPLY, requestId, this.run(query, 'admin')));
      return;
    }
    if (opCode !== OP_MSG) return void socket.destroy();
    const flags = message.readUInt32LE(16);
    const end = flags & 1 ? message.length - 4 : message.length;
    let at = 20;
    let body: Doc = {};
    while (at < end) {
      const kind = message[at]!;
      at += 1;
      if (kind === 0) {
        const size = message.readInt32LE(at);
        body = { ...body, ...BSON.deserialize(message.subarray(at, at + size)) };
        at += size;
      } else {
        const size = message.readInt32LE(at);
        const stop = at + size;
        let p = at + 4;
        let name = '';
        while (message[p] !== 0) name += String.fromCharCode(message[p++]!);
        p++;
        const docs: Doc[] = [];
        while (p < stop) {
          const n = message.readInt32LE(p);
          docs.push(BSON.deserialize(message.subarray(p, p + n)));
          p += n;
        }
        body[name] = docs;
        at = stop;
      }
    }
    socket.write(this.reply(OP_MSG, requestId, this.run(body, String(body.$db ?? 'admin'))));
  }

  private reply(opCode: number, responseTo: number, doc: Doc): Buffer {
    const bson = Buffer.from(BSON.serialize(doc));
    const head = Buffer.alloc(16);
    let extra: Buffer;
    if (opCode === OP_REPLY) {
      extra = Buffer.alloc(20); // responseFlags, cursorID (8), startingFrom, numberReturned
      extra.writeInt32LE(1, 16);
    } else {
      extra = Buffer.alloc(5); // flagBits, section kind 0
    }
    const total = head.length + extra.length + bson.length;
    head.writeInt32LE(total, 0);
    head.writeInt32LE(Math.floor(Math.random() * 2 ** 31), 4);
    head.writeInt32LE(responseTo, 8);
    head.writeInt32LE(opCode, 12);
    return Buffer.concat([head, extra, bson]);
  }

  private run(cmd: Doc, db: string): Doc {
    const name = Object.keys(cmd)[0]!;
    this.commands.push(name);
    const ns = (coll: unknown) => `${db}.${String(coll)}`;
    try {
      switch (name.toLowerCase()) {
        case 'hello':
        case 'ismaster':
          return {
            helloOk: true, isWritablePrimary: true, ismaster: true, maxBsonObjectSize: 16 * 1024 * 1024, maxMessageSizeBytes: 48_000_000,
            maxWriteBatchSize: 100_000, localTime: new Date(), logicalSessionTimeoutMinutes: 30, connectionId: 1, minWireVersion: 0,
            maxWireVersion: 21, readOnly: false, ok: 1,
          };
        case 'ping':
        case 'endsessions':
          return { ok: 1 };
        case 'buildinfo':
          return { version: '7.0.0-wire-double', versionArray: [7, 0, 0, 0], ok: 1 };
        case 'createindexes':
          this.indexes.set(ns(cmd[name]), [...(this.indexes.get(ns(cmd[name])) ?? []), ...(cmd.indexes as Document[])]);
          return { numIndexesBefore: 1, numIndexesAfter: 1 + (cmd.indexes as unknown[]).length, ok: 1 };
        case 'insert':
          return this.insert(this.collection(ns(cmd.insert)), cmd.documents as Doc[]);
        case 'update':
          return this.update(this.collection(ns(cmd.update)), cmd.updates as Doc[]);
        case 'delete':
          return this.remove(this.collection(ns(cmd.delete)), cmd.deletes as Doc[]);
        case 'find': {
          let docs = [...this.collection(ns(cmd.find)).values()].filter((d) => matches(d, (cmd.filter as Doc) ?? {}));
          if (cmd.sort) docs = sortDocs(docs, cmd.sort as Doc);
          if (typeof cmd.limit === 'number' && cmd.limit > 0) docs = docs.slice(0, cmd.limit);
          if (cmd.projection) docs = docs.map((d) => project(d, cmd.projection as Doc));
          return { cursor: { id: BSON.Long.fromNumber(0), ns: ns(cmd.find), firstBatch: docs.map((d) => structuredClone(d)) }, ok: 1 };
        }
        case 'killcursors':
          return { cursorsKilled: [], ok: 1 };
        default:
          return { ok: 0, errmsg: `no such command: '${name}' (wire double)`, code: 59, codeName: 'CommandNotFound' };
      }
    } catch (error) {
      return { ok: 0, errmsg: (error as Error).message, code: 2, codeName: 'BadValue' };
    }
  }

  private insert(coll: Map<string, Doc>, docs: Doc[]): Doc {
    const writeErrors: Doc[] = [];
    let n = 0;
    docs.forEach((doc, index) => {
      const id = String(doc._id);
      if (coll.has(id)) writeErrors.push({ index, code: 11000, errmsg: `E11000 duplicate key error dup key: { _id: "${id}" }` });
      else {
        coll.set(id, structuredClone(doc));
        n++;
      }
    });
    return { n, ...(writeErrors.length ? { writeErrors } : {}), ok: 1 };
  }

  private update(coll: Map<string, Doc>, updates: Doc[]): Doc {
    let n = 0;
    let nModified = 0;
    const upserted: Doc[] = [];
    updates.forEach((u, index) => {
      const q = u.q as Doc;
      const spec = u.u as Doc;
      const targets = [...coll.values()].filter((d) => matches(d, q));
      const replacing = !Object.keys(spec).some((k) => k.startsWith('$'));
      for (const d of u.multi ? targets : targets.slice(0, 1)) {
        n++;
        nModified++;
        if (replacing) coll.set(String(d._id), { ...structuredClone(spec), _id: d._id });
        else Object.assign(d, structuredClone((spec.$set as Doc) ?? {}));
      }
      if (targets.length === 0 && u.upsert) {
        const doc = replacing ? { ...structuredClone(spec) } : { ...q, ...structuredClone((spec.$set as Doc) ?? {}) };
        doc._id ??= q._id;
        coll.set(String(doc._id), doc);
        n++;
        upserted.push({ index, _id: doc._id });
      }
    });
    return { n, nModified, ...(upserted.length ? { upserted } : {}), ok: 1 };
  }

  private remove(coll: Map<string, Doc>, deletes: Doc[]): Doc {
    let n = 0;
    for (const d of deletes) {
      const targets = [...coll.values()].filter((doc) => matches(doc, d.q as Doc));
      for (const doc of d.limit === 1 ? targets.slice(0, 1) : targets) {
        coll.delete(String(doc._id));
        n++;
      }
    }
    return { n, ok: 1 };
  }
}

function valueAt(doc: Doc, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Doc)[key] : undefined), doc);
}

const compare = (a: unknown, b: unknown) => (a === b ? 0 : (a as number | string) < (b as number | string) ? -1 : 1);

function matches(doc: Doc, filter: Doc): boolean {
  return Object.entries(filter).every(([path, cond]) => {
    const value = valueAt(doc, path);
    if (cond && typeof cond === 'object' && !Array.isArray(cond) && Object.keys(cond).some((k) => k.startsWith('$'))) {
      return Object.entries(cond as Doc).every(([op, arg]) => {
        switch (op) {
          case '$in': return (arg as unknown[]).some((x) => x === value);
          case '$nin': return !(arg as unknown[]).some((x) => x === value);
          case '$lt': return value !== undefined && compare(value, arg) < 0;
          case '$lte': return value !== undefined && compare(value, arg) <= 0;
          case '$gt': return value !== undefined && compare(value, arg) > 0;
          case '$gte': return value !== undefined && compare(value, arg) >= 0;
          case '$ne': return value !== arg;
          case '$exists': return (value !== undefined) === Boolean(arg);
          default: throw new Error(`operator ${op} is not supported by the wire double`);
        }
      });
    }
    return value === cond;
  });
}

function sortDocs(docs: Doc[], sort: Doc): Doc[] {
  const keys = Object.entries(sort);
  return [...docs].sort((a, b) => {
    for (const [path, dir] of keys) {
      const c = compare(valueAt(a, path), valueAt(b, path));
      if (c !== 0) return c * (Number(dir) < 0 ? -1 : 1);
    }
    return 0;
  });
}

function project(doc: Doc, projection: Doc): Doc {
  const out: Doc = { _id: doc._id };
  for (const [k, v] of Object.entries(projection)) if (v && k !== '_id') out[k] = doc[k];
  return out;
}
