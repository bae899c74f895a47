// CLI: writes a synthetic model file (see synthetic.ts).
//   npm run model:synthetic -- <micro|tiny> <path>
import { SYNTHETIC_SHAPES, isSyntheticName, writeSyntheticModel } from './synthetic.ts';

const [name, path] = process.argv.slice(2);
if (!name || !path || !isSyntheticName(name)) {
  process.stderr.write(`usage: npm run model:synthetic -- <${Object.keys(SYNTHETIC_SHAPES).join('|')}> <path>\n`);
  process.exit(2);
}
writeSyntheticModel(path, SYNTHETIC_SHAPES[name]);
process.stdout.write(`wrote synthetic:${name} to ${path}\n`);
