import { gradCheckTable } from '../test-utils/cases.js';
import { NORM_ROWS } from '../test-utils/rows/norm.js';

gradCheckTable('norm', NORM_ROWS);
