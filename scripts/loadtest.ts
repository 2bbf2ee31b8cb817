/** npm run loadtest -- [options]: the shim; the command is src/cli/loadtestCommand.ts. */
import { loadtestMain } from '../src/cli/loadtestCommand.js';

await loadtestMain();
