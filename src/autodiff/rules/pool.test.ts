import { gradCheckTable } from '../test-utils/cases.js';
import { POOL_ROWS } from '../test-utils/rows/pool.js';

gradCheckTable('pool', POOL_ROWS);
