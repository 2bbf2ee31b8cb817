/**
 * The layer rules, checked by `npm test` (npm run lint:deps). A rating flows one way:
 *   data ← rbm ← model ← eval;   store ← serving ← server, scoring, cli;   api (response types) ← server, web.
 * Entry points (scripts/) are shims over src/cli and src/bench (the benchmark harness, beside the
 * commands); nothing imports server, scoring, cli or bench but the layers above them; no cycles anywhere.
 */
const layer = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: '^src/', pathNot: `^src/(${allowed.join('|')})` },
});

/** Nothing in src imports `folder` except `folder` itself and the folders `callers`. */
const nothingImports = (folder, callers, comment) => ({
  name: `nothing-imports-${folder}`,
  comment,
  severity: 'error',
  from: { path: '^src/', pathNot: `^src/(${[folder, ...callers].join('|')})/` },
  to: { path: `^src/${folder}/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'modules depend on each other in one direction only',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    layer('data-is-the-base', '^src/data/', ['data/', 'rng\\.ts'], 'parsing and the in-memory Dataset depend on nothing of ours'),
    layer('rbm-is-pure-math', '^src/rbm/', ['data/', 'rbm/', 'rng\\.ts'], 'the RBMs know data, not models or I/O'),
    layer('model-above-rbm', '^src/model/', ['data/', 'rbm/', 'model/', 'rng\\.ts'], 'algorithms are built on the RBMs and the data'),
    layer(
      'eval-above-model',
      '^src/eval/',
      ['data/', 'rbm/', 'model/', 'eval/', 'rng\\.ts'],
      'evaluation knows algorithms through the protocol',
    ),
    layer('store-below-serving', '^src/store/', ['data/', 'model/', 'store/', 'rng\\.ts'], 'the store persists data and model versions'),
    layer(
      'serving-below-callers',
      '^src/serving/',
      ['api/', 'data/', 'rbm/', 'model/', 'store/', 'serving/', 'rng\\.ts'],
      'one serving path, used by the server and the scorer',
    ),
    layer('api-types-are-leaves', '^src/api/', ['api/', 'data/catalog\\.ts'], 'response types, shared with the web page'),
    layer(
      'scoring-uses-serving',
      '^src/scoring/',
      ['data/', 'model/', 'store/', 'serving/', 'scoring/', 'rbm/backend\\.ts'],
      'the batch scorer goes through serving',
    ),
    layer(
      'server-uses-serving',
      '^src/server/',
      ['api/', 'data/', 'model/', 'store/', 'serving/', 'server/', 'rbm/backend\\.ts'],
      'the API goes through serving',
    ),
    layer(
      'cli-on-top',
      '^src/cli/',
      ['api/', 'data/', 'rbm/', 'model/', 'eval/', 'store/', 'serving/', 'server/', 'scoring/', 'cli/', 'rng\\.ts'],
      'the commands wire every layer together; the benchmark harness is not one of their layers',
    ),
    layer(
      'bench-is-a-harness',
      '^src/bench/',
      ['data/', 'rbm/', 'model/', 'eval/', 'store/', 'serving/', 'scoring/', 'cli/', 'bench/', 'rng\\.ts'],
      'the benchmark drives the layers as the commands do (and the server only as a process it spawns)',
    ),
    nothingImports('bench', [], 'the benchmark harness is started by its script only'),
    nothingImports('server', ['cli'], 'only the command line starts the server'),
    nothingImports('cli', ['bench'], 'commands sit on top; library code never reaches up into them'),
    nothingImports('scoring', ['cli', 'bench'], 'the batch scorer is a caller of serving, called only by its command'),
    {
      name: 'web-sees-only-api-types',
      comment: 'the page talks to the server over HTTP; it shares the response types, nothing else',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/', pathNot: '^src/(api/|data/catalog\\.ts)' },
    },
    {
      name: 'scripts-are-shims',
      comment: 'scripts/ only start commands that live in src/cli (and the benchmark harness)',
      severity: 'error',
      from: { path: '^scripts/' },
      to: { path: '^src/', pathNot: '^src/(cli|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/rbm/wasm/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
