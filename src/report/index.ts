// Browser-safe: run-folder format, parsers and HTML rendering from data. File access is in ./node/.
export * from './run-folder.js';
export { type HtmlReportOptions, renderHtmlReport } from './html.js';
export {
  type AccuracyPoint,
  type CurvePoint,
  type Spread,
  type Study,
  type StudyRun,
  accuracySpread,
  lossCurves,
  parseStudy,
  renderCompareReport,
  wallTimes,
} from './compare.js';
export { renderChart } from './charts.js';
