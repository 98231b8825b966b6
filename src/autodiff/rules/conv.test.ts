import { gradCheckTable } from '../test-utils/cases.js';
import { CONV_ROWS } from '../test-utils/rows/conv.js';

gradCheckTable('conv', CONV_ROWS);
