// A module worker that hosts the engine (what an app's worker file looks like).
import { exposeEngineHost } from '../../../src/worker/index.js';

exposeEngineHost();
