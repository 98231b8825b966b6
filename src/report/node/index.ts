export {
  type ReadRunFolderOptions,
  type RunFolderContents,
  attachThumbnails,
  readRunFolder,
  writeRunFolder,
} from './run-folder.js';
export { REPORT_FILE, type ReportSummary, type WrittenReport, writeCompareReport, writeHtmlReport } from './command.js';
