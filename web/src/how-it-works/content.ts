/**
 * The text of "How it works", written once: the page renders it (./view … web/src/views/how-it-works.ts)
 * with the served model's numbers in the `figure` blocks, and scripts/build-docs.ts writes the same text
 * to docs/how-it-works.md (`toMarkdown`). Equations are LaTeX: display blocks, and `$…$` inside
 * paragraphs; the web build turns every one into MathML ahead of time (scripts/build-web.ts), so the
 * page needs no math library and no CDN.
 *
 * Symbols are the code's: W[i,k,j] is W_{ikj}, b[i,k] is b_{ik}, c[j] is c_j, F hidden units, K levels.
 * Pure data and string functions: no DOM, so Node (docs, tests, build) and the browser share it.
 */

/** Where the page inserts the served model's own numbers (GET /api/model/explain). */
export type FigureId = 'architecture' | 'free-energy' | 'hidden' | 'prediction' | 'training' | 'masking' | 'fold-in' | 'ranking';

export type Block = { kind: 'p'; text: string } | { kind: 'math'; tex: string } | { kind: 'figure'; figure: FigureId; docs: string };

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export const TITLE = 'How it works';

export const LEAD =
  'The recommender is a restricted Boltzmann machine (RBM) for ratings, after Salakhutdinov, Mnih and Hinton (2007). This page explains, in plain words and with the equations the code runs, how it turns a few ratings into predictions, how it was trained, and how a recommendation is ranked. Boxes headed “This model” show the numbers of the model being served right now.';

const p = (text: string): Block => ({ kind: 'p', text });
const math = (tex: string): Block => ({ kind: 'math', tex });
const figure = (id: FigureId, docs: string): Block => ({ kind: 'figure', figure: id, docs });

export const SECTIONS: Section[] = [
  {
    id: 'hiw-idea',
    title: 'One small network per user, one set of weights',
    blocks: [
      p(
        'Think of a row of switches, the hidden units, each wired to every movie. A user’s ratings push some switches on and others off; the switches that end up on then vote for the ratings of every movie the user has not seen. Which ratings push which switch, and how hard, is what training learned: the weights. Nobody told the model what a switch means: a unit may end up standing for “1950s musicals” or “gory horror” because that pattern helps explain the ratings.',
      ),
      p(
        'Each user gets their own RBM with one visible unit for each movie they rated, and no unit at all for the movies they did not rate. A visible unit is a softmax over the $K$ rating levels: exactly one level is on, written $v_i^k = 1$ when movie $i$ got level $k$. All users’ RBMs have the same $F$ binary hidden units and share the same weights, so every rating anywhere trains the one model.',
      ),
      figure('architecture', 'The page shows the served model’s F, K, and the numbers of users and movies.'),
    ],
  },
  {
    id: 'hiw-energy',
    title: 'The energy of a user’s ratings',
    blocks: [
      p(
        'An RBM gives every joint setting of the ratings $\\mathbf{V}$ and the hidden units $\\mathbf{h}$ an energy; low energy means “this goes together”. For a user who rated the set of movies $R$:',
      ),
      math(
        'E(\\mathbf{V},\\mathbf{h}) = -\\sum_{i \\in R}\\sum_{j=1}^{F}\\sum_{k=1}^{K} W_{ikj}\\, h_j\\, v_i^k \\;-\\; \\sum_{i \\in R}\\sum_{k=1}^{K} b_{ik}\\, v_i^k \\;-\\; \\sum_{j=1}^{F} c_j\\, h_j',
      ),
      p(
        'The probability of a setting is $p(\\mathbf{V},\\mathbf{h}) = e^{-E(\\mathbf{V},\\mathbf{h})}/Z$, where the normaliser $Z$ sums $e^{-E}$ over every possible setting of ratings and hidden units. Summing the hidden units out gives the free energy of the ratings alone, cheap to compute for one user:',
      ),
      math(
        '\\mathcal{F}(\\mathbf{V}) = -\\sum_{i \\in R} b_{i r_i} \\;-\\; \\sum_{j=1}^{F} \\log\\!\\Big(1 + \\exp\\big(c_j + \\sum_{i \\in R} W_{i r_i j}\\big)\\Big), \\qquad p(\\mathbf{V}) = \\frac{e^{-\\mathcal{F}(\\mathbf{V})}}{Z}',
      ),
      p(
        'Lower free energy means more probable ratings. A trained model should find a real user’s ratings more probable than the same movies with the ratings turned upside down.',
      ),
      figure(
        'free-energy',
        'The page shows the free energy of a sample user’s ratings, and of the same movies with every rating mirrored (1 ↔ 5, 2 ↔ 4).',
      ),
    ],
  },
  {
    id: 'hiw-hidden',
    title: 'From ratings to hidden units: p(h | V)',
    blocks: [
      p(
        'Given the ratings, the hidden units are independent of each other, and each is on with a probability that is a logistic function of the weights of the ratings given, plus the unit’s bias:',
      ),
      math(
        'p(h_j = 1 \\mid \\mathbf{V}) = \\sigma\\Big(c_j + \\sum_{i \\in R} W_{i r_i j}\\Big), \\qquad \\sigma(x) = \\frac{1}{1 + e^{-x}}',
      ),
      p(
        'Before any rating is seen a unit is on with probability $\\sigma(c_j)$, its base rate. The Model page’s “Hidden units” panel lists, for each unit, the movies whose high ratings switch it on and off, and which units your own ratings switch on most.',
      ),
      figure(
        'hidden',
        'The page shows the three hidden units the sample user’s ratings switch on most, with p(h_j = 1 | V) against the base rate σ(c_j).',
      ),
    ],
  },
  {
    id: 'hiw-visible',
    title: 'From hidden units to ratings: p(vᵢ = k | h)',
    blocks: [
      p('Given the hidden units, each movie’s rating is a softmax over the levels, the same weights read the other way:'),
      math(
        'p(v_i^k = 1 \\mid \\mathbf{h}) = \\frac{\\exp\\big(b_{ik} + \\sum_{j=1}^{F} h_j W_{ikj}\\big)}{\\sum_{l=1}^{K} \\exp\\big(b_{il} + \\sum_{j=1}^{F} h_j W_{ilj}\\big)}',
      ),
      p(
        'To predict, the model does not sample: it puts the probabilities $\\hat{p}_j = p(h_j = 1 \\mid \\mathbf{V})$ in place of $h_j$ (a mean-field step) and reads off a whole distribution over the levels for every movie. The predicted rating is its expectation, $\\hat{r}_i = \\sum_k \\text{level}_k\\, p(v_i^k = 1 \\mid \\hat{\\mathbf{p}})$, and the spread of the distribution says how sure the model is.',
      ),
      figure(
        'prediction',
        'The page works one prediction through: a movie the sample user has not rated, its distribution over the levels from the user RBM and from the served model, and the expected rating.',
      ),
    ],
  },
  {
    id: 'hiw-learning',
    title: 'Learning: the model’s expectation, and contrastive divergence',
    blocks: [
      p(
        'Training makes the observed ratings probable: it climbs the log-likelihood $\\sum_{\\text{users}} \\log p(\\mathbf{V})$. Its gradient for a weight is a difference of two averages:',
      ),
      math(
        '\\frac{\\partial \\log p(\\mathbf{V})}{\\partial W_{ikj}} = \\big\\langle v_i^k h_j \\big\\rangle_{\\text{data}} - \\big\\langle v_i^k h_j \\big\\rangle_{\\text{model}}',
      ),
      p(
        'The first term is easy: with the ratings fixed, $h_j$ is averaged with $p(h_j = 1 \\mid \\mathbf{V})$. The second is the same average under the model’s own distribution over every possible set of ratings and hidden states, which is the derivative of $\\log Z$. Computing it exactly means summing over exponentially many settings; sampling it means running a Markov chain until it forgets where it started. Exact maximum-likelihood learning is out of reach.',
      ),
      p(
        'Contrastive divergence (CD-T) replaces the model’s expectation by a short run of Gibbs sampling that starts at the data: sample $\\mathbf{h}$ from $p(\\mathbf{h} \\mid \\mathbf{V})$, reconstruct the ratings from $p(\\mathbf{V} \\mid \\mathbf{h})$, and repeat $T$ times. The update is',
      ),
      math(
        '\\Delta W_{ikj} = \\varepsilon\\Big(\\big\\langle v_i^k h_j \\big\\rangle_{\\text{data}} - \\big\\langle v_i^k h_j \\big\\rangle_{T}\\Big)',
      ),
      p(
        'It is biased but cheap, and it works well when $T$ grows as the weights grow: the trainer uses $T = 1$ at first and more steps later, with momentum, weight decay and mini-batches, and stops when the error on a validation slice of the training ratings stops improving.',
      ),
      p(
        'Why not backpropagation? Backpropagation differentiates an explicit computation, a network mapping inputs to outputs with a loss at the end. An RBM is an undirected probability model: the quantity to climb, $\\log p(\\mathbf{V})$, contains $\\log Z$, and its gradient is the model’s expectation above, which no forward pass computes. Contrastive divergence is a way of estimating that gradient, not a loss to backpropagate through.',
      ),
      figure(
        'training',
        'The page shows the served model’s contrastive-divergence schedule, learning rate, momentum, weight decay, batch size and the epochs actually run.',
      ),
    ],
  },
  {
    id: 'hiw-masking',
    title: 'Missing ratings are absent, not zero',
    blocks: [
      p(
        'A typical user has rated a few dozen of the catalog’s movies. The RBM masks the rest: an unrated movie has no visible unit in that user’s RBM, so it adds nothing to $p(\\mathbf{h} \\mid \\mathbf{V})$, and that user’s data neither pushes its weights up nor down. Every sum above runs over $i \\in R$, the rated movies only.',
      ),
      p(
        'Filling the gaps with zeros or with “1 star” would teach the model that not having seen a movie means disliking it. Masking keeps the two questions apart: the rating RBM learns how much people like what they watched; whether someone would watch a movie at all is a different model (below).',
      ),
      figure(
        'masking',
        'The page shows how many movies the sample user rated and how many are masked, and how much of the whole users × movies matrix the training ratings fill.',
      ),
    ],
  },
  {
    id: 'hiw-fold-in',
    title: 'A new user without retraining',
    blocks: [
      p(
        'Because the weights are shared, a visitor who rates a handful of movies just gets their own small RBM with the trained weights: one pass over their ratings gives $\\hat{\\mathbf{p}} = p(\\mathbf{h} \\mid \\mathbf{V})$, a cost of $|R| \\cdot F$ multiply-adds, and the softmax above then scores every movie. No weight changes, so the answer comes back in milliseconds and the next rating is folded in the same way.',
      ),
      p(
        'The served model also has the transposed RBM, one per movie with users as its visible units. There a new user is a new visible unit: its weights are fitted to their ratings by a small logistic regression with the movies’ hidden features held fixed. The two RBMs and a bias baseline are combined as a mixture of their predicted distributions, with weights fitted on the validation slice:',
      ),
      math('p(r_{ui} = k) = w_U\\, p_U(k) + w_I\\, p_I(k) + w_B\\, p_B(k), \\qquad w \\ge 0,\\; w_U + w_I + w_B = 1'),
      figure(
        'fold-in',
        'The page shows how many ratings the sample user’s fold-in used, how many hidden units they switch on in expectation, and the served mixture weights.',
      ),
    ],
  },
  {
    id: 'hiw-ranking',
    title: 'Ranking: would watch, and would like',
    blocks: [
      p(
        'A high expected rating alone ranks the same acclaimed classics first for everyone. A recommendation should be something the user would choose to watch and then like. The rating RBM answers the second question: the probability of a rating at or above the user’s “liked” level $\\ell$,',
      ),
      math('p(\\text{like}_i) = \\sum_{k \\ge \\ell} p(v_i^k = 1 \\mid \\hat{\\mathbf{p}})'),
      p(
        'The first question is answered by a second RBM whose visible units are binary, one per movie, on when the user rated it at all. Here a missing rating is information (“did not choose it”), so every movie takes part. Its hidden units are Gaussian rather than binary: their mean is the input itself, scaled by $s(n) = (n_{\\text{med}} / n)^{0.7}$ so that a user with $n$ ratings feeds the units about as strongly as a typical user does:',
      ),
      math(
        '\\hat{h}_j = c_j + s(n) \\sum_{i} x_i W_{ij}, \\qquad p(x_i = 1 \\mid \\hat{\\mathbf{h}}) = \\sigma\\Big(a_i + \\sum_{j} \\hat{h}_j W_{ij}\\Big)',
      ),
      p(
        'With the hidden units summed out, this RBM is a Boltzmann machine over the movies whose pairwise couplings are $W W^\\top$, so the chance of each movie given all the others is exact and cheap. The served model averages the logits of four such RBMs (on catalogs small enough for a dense pass over every movie; larger catalogs train one): two trained by contrastive divergence, and two trained to predict every movie from the others (pseudo-likelihood), which is the task a recommendation list is judged on:',
      ),
      math(
        '\\max_{W, a, c} \\sum_{u} \\sum_{i} \\log p(x_{ui} \\mid \\mathbf{x}_{u, -i}), \\qquad \\operatorname{logit} p(x_i = 1 \\mid \\mathbf{x}_{-i}) = a_i + W_i \\cdot \\hat{\\mathbf{h}}_{-i} + \\tfrac{1}{2} s(n) \\lVert W_i \\rVert^2',
      ),
      p(
        'The ranking score combines the two as the chance of watching and then liking, the second factor softened by an exponent $\\gamma = 0.25$ chosen on validation data (the plain product leaned too much on the predicted rating):',
      ),
      math('\\text{score}_i = p(\\text{watch}_i) \\cdot p(\\text{like}_i \\mid \\text{watch}_i)^{\\gamma}'),
      figure(
        'ranking',
        'The page shows the sample prediction’s chance of reaching the user’s liked level; when the served model includes the watch RBM, its part of the score as well.',
      ),
    ],
  },
];

/** A paragraph split into text and inline-math pieces (`$…$`; `\$` is a literal dollar sign). */
export type Segment = { text: string } | { tex: string };

export function segments(text: string): Segment[] {
  const out: Segment[] = [];
  let buffer = '';
  let inMath = false;
  for (let n = 0; n < text.length; n++) {
    const ch = text[n];
    if (ch === '\\' && text[n + 1] === '$') {
      buffer += '$';
      n++;
    } else if (ch === '$') {
      if (buffer !== '') out.push(inMath ? { tex: buffer } : { text: buffer });
      buffer = '';
      inMath = !inMath;
    } else {
      buffer += ch;
    }
  }
  if (inMath) throw new Error(`unclosed $ in: ${text.slice(0, 60)}…`);
  if (buffer !== '') out.push({ text: buffer });
  return out;
}

/** Every equation of the text, with whether it is displayed (a block) or inline. */
export function equations(sections: readonly Section[] = SECTIONS): { tex: string; display: boolean }[] {
  const out: { tex: string; display: boolean }[] = [];
  const inline = (text: string): void => {
    for (const s of segments(text)) if ('tex' in s) out.push({ tex: s.tex, display: false });
  };
  for (const section of sections) {
    for (const block of section.blocks) {
      if (block.kind === 'math') out.push({ tex: block.tex, display: true });
      else if (block.kind === 'p') inline(block.text);
    }
  }
  return out;
}

/** The text as GitHub-flavoured Markdown (math in `$…$` and ```math blocks, which GitHub renders). */
export function toMarkdown(sections: readonly Section[] = SECTIONS): string {
  const lines: string[] = [
    `# ${TITLE}`,
    '',
    '<!-- Generated from web/src/how-it-works/content.ts by `npm run build:docs`; edit that file, not this one. -->',
    '',
    LEAD,
    '',
  ];
  for (const section of sections) {
    lines.push(`## ${section.title}`, '');
    for (const block of section.blocks) {
      if (block.kind === 'p') lines.push(block.text, '');
      else if (block.kind === 'math') lines.push('```math', block.tex, '```', '');
      else lines.push(`> **This model:** ${block.docs}`, '');
    }
  }
  return lines.join('\n').replace(/\n+$/, '\n');
}
