export {
  type ReadRunFolderOptions,
  type RunFolderContents,
  attachThumbnails,
  readRunFolder,
  writeRunFolder,
} from './run-folder.js';
export {
  REPORT_FILE,
  type ReportCommandOptions,
  type ReportIo,
  type ReportSummary,
  type WrittenReport,
  reportCommand,
  writeCompareReport,
  writeHtmlReport,
} from './command.js';
