// Worker thread entry that writes a synthetic model (seconds of CPU), so the
// hub's loop keeps serving while it is made.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { portEndpoint } from '../endpoints.ts';
import { SYNTHETIC_SHAPES, writeSyntheticModel, type SyntheticName } from './synthetic.ts';

const api = {
  write(path: string, name: SyntheticName): void {
    writeSyntheticModel(path, SYNTHETIC_SHAPES[name]);
  },
};

export type SyntheticWorkerApi = typeof api;

Comlink.expose(api, portEndpoint(parentPort!));
