// One owner per task in cluster mode: a lease on the task's own document in
// MongoDB, `lease: {owner, epoch, expiresAt}`. A hub takes the lease of a task
// it creates; it renews its leases while their actors run; a lease left to
// expire (its hub died, or lost the store) is taken by another hub, which bumps
// the epoch and resumes the task. Every write of a task filters on the owner
// and epoch it was made under (fencing): once another hub took the lease, the
// old owner's writes match nothing. The lease lives on the task document, not
// in a collection of its own, so that taking it and fencing the writes are
// single-document operations — atomic without transactions.
import type { Collection } from 'mongodb';
import { FINISHED_STATUSES } from '../../client/protocol/types.ts';
import type { TaskLeases } from './task-store.ts';

export interface Lease {
  owner: string;
  epoch: number;
  /** ms since the epoch, on the clock of the hub that took or renewed it */
  expiresAt: number;
}

export interface LeaseOptions {
  /** this hub (HUB_NODE_ID) */
  owner: string;
  /** how long a lease lasts without renewal */
  ttlMs: number;
}

/** The fields a fenced write filters on. */
export interface Fence {
  'lease.owner': string;
  'lease.epoch': number;
}

/** What a task document holds for the leases. */
interface LeasedDoc {
  _id: string;
  status: string;
  lease?: Lease;
}

const OPEN = { status: { $nin: [...FINISHED_STATUSES] } };
/** Tasks a claim looks at, at most, per query (the rest at the next one). */
const CLAIM_BATCH = 100;

export class MongoLeases implements TaskLeases {
  /** taskId → the epoch this hub holds it under */
  private readonly epochs = new Map<string, number>();

  constructor(
    private readonly tasks: () => Collection<LeasedDoc>,
    readonly options: LeaseOptions,
  ) {}

  /** The lease a new task's document is inserted with (this hub owns it from the start). */
  forNewTask(taskId: string): Lease {
    this.epochs.set(taskId, 1);
    return this.lease(1);
  }

  /** The filter that fences a write of `taskId`: it matches only while this hub holds the lease; null: not held. */
  fence(taskId: string): Fence | null {
    const epoch = this.epochs.get(taskId);
    return epoch === undefined ? null : { 'lease.owner': this.options.owner, 'lease.epoch': epoch };
  }

  /** The task is over here (finished, or abandoned): no more renewals. */
  forget(taskId: string): void {
    this.epochs.delete(taskId);
  }

  held(): string[] {
    return [...this.epochs.keys()];
  }

  /** Renews every lease held; returns the tasks whose lease another hub took (or that are gone). */
  async renew(): Promise<string[]> {
    const lost: string[] = [];
    await Promise.all(
      [...this.epochs].map(async ([taskId, epoch]) => {
        const { matchedCount } = await this.replace(taskId, epoch, this.lease(epoch));
        if (matchedCount === 0 && this.epochs.get(taskId) === epoch) {
          this.epochs.delete(taskId);
          lost.push(taskId);
        }
      }),
    );
    return lost;
  }

  /** Lets go of every lease (a graceful shutdown, after the last writes): other hubs take the tasks at once, not after expiry. */
  async release(): Promise<void> {
    const held = [...this.epochs];
    this.epochs.clear();
    await Promise.all(
      held.map(([taskId, epoch]) => this.replace(taskId, epoch, { owner: this.options.owner, epoch, expiresAt: 0 })),
    );
  }

  /**
   * Takes the leases of unfinished tasks nobody holds: expired, never leased
   * (written before cluster mode), or — with `own` (at start-up) — leased to
   * this node id by a previous run. Returns the ids taken.
   */
  async claim(own = false): Promise<string[]> {
    const now = Date.now();
    const candidates = [
      ...(await this.tasks().find({ ...OPEN, 'lease.expiresAt': { $lt: now } }, { limit: CLAIM_BATCH }).toArray()),
      ...(await this.tasks().find({ ...OPEN, lease: { $exists: false } }, { limit: CLAIM_BATCH }).toArray()),
      ...(own ? await this.tasks().find({ ...OPEN, 'lease.owner': this.options.owner }, { limit: CLAIM_BATCH }).toArray() : []),
    ];
    const taken: string[] = [];
    for (const doc of candidates) {
      if (this.epochs.has(doc._id) || taken.includes(doc._id)) continue;
      if (await this.take(doc, OPEN)) taken.push(doc._id);
    }
    return taken;
  }

  /**
   * Takes task `taskId`'s lease whoever holds it, finished or not: a live
   * session whose client came back to this hub. The previous holder's writes
   * are fenced off from now on, and its next renewal stops the session there.
   */
  async takeOver(taskId: string): Promise<boolean> {
    const doc = await this.tasks().findOne({ _id: taskId });
    return doc ? this.take(doc, {}) : false;
  }

  /** Compare-and-set on the lease as read, under the next epoch: if another hub took it meanwhile, this matches nothing. */
  private async take(doc: LeasedDoc, filter: object): Promise<boolean> {
    const epoch = (doc.lease?.epoch ?? 0) + 1;
    const unchanged = doc.lease ? { 'lease.owner': doc.lease.owner, 'lease.epoch': doc.lease.epoch, 'lease.expiresAt': doc.lease.expiresAt } : { lease: { $exists: false } };
    const { matchedCount } = await this.tasks().updateOne({ _id: doc._id, ...filter, ...unchanged }, { $set: { lease: this.lease(epoch) } });
    if (matchedCount === 0) return false;
    this.epochs.set(doc._id, epoch);
    return true;
  }

  /** Rewrites a lease this hub holds under `epoch` (matches nothing once another hub took it). */
  private replace(taskId: string, epoch: number, lease: Lease) {
    return this.tasks().updateOne({ _id: taskId, 'lease.owner': this.options.owner, 'lease.epoch': epoch }, { $set: { lease } });
  }

  private lease(epoch: number): Lease {
    return { owner: this.options.owner, epoch, expiresAt: Date.now() + this.options.ttlMs };
  }
}
