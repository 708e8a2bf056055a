/**
 * MoViNet architectures: Model Garden's `BLOCK_SPECS` (official/projects/movinet/modeling/
 * movinet.py; arXiv:2103.11511), a stem, five blocks of layers and a head per model id.
 */
export type Triple = [number, number, number];

// K(ab) is a (a, b, b) kernel, S(ab) a (a, b, b) stride, as in Model Garden.
const K13: Triple = [1, 3, 3];
const K15: Triple = [1, 5, 5];
const K33: Triple = [3, 3, 3];
const K53: Triple = [5, 3, 3];
const S11: Triple = [1, 1, 1];
const S12: Triple = [1, 2, 2];

export interface StemSpec {
  filters: number;
  kernelSize: Triple;
  strides: Triple;
}

export interface MovinetBlockSpec {
  baseFilters: number;
  expandFilters: number[];
  kernelSizes: Triple[];
  strides: Triple[];
}

export interface HeadSpec {
  projectFilters: number;
  headFilters: number;
}

export interface MovinetSpec {
  stem: StemSpec;
  blocks: MovinetBlockSpec[];
  head: HeadSpec;
}

/** Every block's first layer strides (1, 2, 2) except block 3's; the rest (1, 1, 1). */
function block(
  baseFilters: number,
  expandFilters: number[],
  kernelSizes: Triple[],
  firstStride: Triple = S12,
): MovinetBlockSpec {
  if (expandFilters.length !== kernelSizes.length) {
    throw new Error(
      `MoViNet block spec: ${expandFilters.length} expand filters but ${kernelSizes.length} kernel sizes`,
    );
  }
  return {
    baseFilters,
    expandFilters,
    kernelSizes,
    strides: expandFilters.map((_, i) => (i === 0 ? firstStride : S11)),
  };
}

const stem = (filters: number): StemSpec => ({ filters, kernelSize: K13, strides: S12 });
const rep = (k: Triple, n: number): Triple[] => new Array<Triple>(n).fill(k);

export const MOVINET_SPECS: Record<string, MovinetSpec> = {
  a0: {
    stem: stem(8),
    blocks: [
      block(8, [24], [K15]),
      block(32, [80, 80, 80], rep(K33, 3)),
      block(56, [184, 112, 184], [K53, K33, K33]),
      block(56, [184, 184, 184, 184], [K53, K33, K33, K33], S11),
      block(104, [384, 280, 280, 344], [K53, K15, K15, K15]),
    ],
    head: { projectFilters: 480, headFilters: 2048 },
  },
  a1: {
    stem: stem(16),
    blocks: [
      block(16, [40, 40], [K15, K33]),
      block(40, [96, 120, 96, 96], rep(K33, 4)),
      block(64, [216, 128, 216, 168, 216], [K53, ...rep(K33, 4)]),
      block(64, [216, 216, 216, 128, 128, 216], [K53, K33, K33, K33, K15, K33], S11),
      block(136, [456, 360, 360, 360, 456, 456, 544], [K53, ...rep(K15, 4), K33, K13]),
    ],
    head: { projectFilters: 600, headFilters: 2048 },
  },
  a2: {
    stem: stem(16),
    blocks: [
      block(16, [40, 40, 64], [K15, K33, K33]),
      block(40, [96, 120, 96, 96, 120], rep(K33, 5)),
      block(72, [240, 160, 240, 192, 240], [K53, ...rep(K33, 4)]),
      block(72, [240, 240, 240, 240, 144, 240], [K53, K33, K33, K33, K15, K33], S11),
      block(144, [480, 384, 384, 480, 480, 480, 576], [K53, ...rep(K15, 4), K33, K13]),
    ],
    head: { projectFilters: 640, headFilters: 2048 },
  },
  a3: {
    stem: stem(16),
    blocks: [
      block(16, [40, 40, 64, 40], [K15, K33, K33, K33]),
      block(48, [112, 144, 112, 112, 144, 144], [K33, K33, K33, K15, K33, K33]),
      block(80, [240, 152, 240, 192, 240], [K53, ...rep(K33, 4)]),
      block(
        88,
        [264, 264, 264, 264, 160, 264, 264, 264],
        [K53, K33, K33, K33, K15, K33, K33, K33],
        S11,
      ),
      block(
        168,
        [560, 448, 448, 560, 560, 560, 448, 448, 560, 672],
        [K53, K15, K15, K15, K15, K33, K15, K15, K33, K13],
      ),
    ],
    head: { projectFilters: 744, headFilters: 2048 },
  },
  a4: {
    stem: stem(24),
    blocks: [
      block(24, [64, 64, 96, 64, 96, 64], [K15, ...rep(K33, 5)]),
      block(56, [168, 168, 136, 136, 168, 168, 168, 136, 136], [...rep(K33, 7), K15, K33]),
      block(96, [320, 160, 320, 192, 320, 160, 320, 256, 320], [K53, ...rep(K33, 8)]),
      block(
        96,
        [320, 320, 320, 320, 192, 320, 320, 192, 320, 320],
        [K53, K33, K33, K33, K15, ...rep(K33, 5)],
        S11,
      ),
      block(
        192,
        [640, 512, 512, 640, 640, 640, 512, 512, 640, 768, 640, 640, 768],
        [K53, K15, K15, K15, K15, K33, K15, K15, K15, K15, K15, K33, K33],
      ),
    ],
    head: { projectFilters: 856, headFilters: 2048 },
  },
  a5: {
    stem: stem(24),
    blocks: [
      block(24, [64, 64, 96, 64, 96, 64], [K15, K15, ...rep(K33, 4)]),
      block(64, [192, 152, 152, 152, 192, 192, 192, 152, 152, 192, 192], [K53, ...rep(K33, 10)]),
      block(
        112,
        [376, 224, 376, 376, 296, 376, 224, 376, 376, 296, 376, 376, 376],
        [K53, ...rep(K33, 12)],
      ),
      block(
        120,
        [376, 376, 376, 376, 224, 376, 376, 224, 376, 376, 376],
        [K53, K33, K33, K33, K15, ...rep(K33, 6)],
        S11,
      ),
      block(
        224,
        [744, 744, 600, 600, 744, 744, 744, 896, 600, 600, 896, 744, 744, 896, 600, 600, 744, 744],
        [K53, K33, ...rep(K15, 4), K33, ...rep(K15, 5), K33, ...rep(K15, 4), K33],
      ),
    ],
    head: { projectFilters: 992, headFilters: 2048 },
  },
  t0: {
    stem: stem(8),
    blocks: [
      block(8, [16], [K15]),
      block(32, [72, 72], [K33, K15]),
      block(56, [112, 112, 112], [K53, K15, K33]),
      block(56, [184, 184, 184, 184], [K53, K15, K33, K33], S11),
      block(104, [344, 344, 344, 344], [K53, K15, K15, K33]),
    ],
    head: { projectFilters: 240, headFilters: 1024 },
  },
};

export const MOVINET_MODEL_IDS: readonly string[] = Object.keys(MOVINET_SPECS);
