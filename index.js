// Zapier's CommonJS wrapper (zapierwrapper.js) loads `index.js` at the package root; the app
// itself is written in TypeScript (index.ts) and compiled to dist/ by `npm run build`.
module.exports = require('./dist/index.js').default;
