import { DEFAULT_LIMITS, resolveLimits } from '../limits.js';
import type { ResolvedLimits } from '../limits.js';
import type { Manifest } from '../manifest/types.js';
import type { VaeTensor } from '../tensor/tensor.js';
import { positiveIntegerOption } from '../validate.js';
import { latentItemShape } from './inputs.js';
import { checkDraws } from './limit-checks.js';
import { noise } from './noise.js';
import { Posterior } from './posterior.js';
import type { PosteriorSampleOptions } from './posterior.js';
import type { PriorSampleOptions } from './types.js';

/**
 * Draws latents for a model without running it: z = mean + std * eps from a posterior, or z ~ N(0, I) from the prior
 * of the manifest's latent shape. What `vae.sample` does; for wrappers that hold only the manifest (a VAE in a worker).
 *
 * @param manifest - the model's manifest (its latent shape)
 * @param first - a {@link Posterior}, or the prior's options: `n` (default 1), `seed`, `eps`, `noise`, `latentShape`
 *   where the manifest leaves sizes open
 * @param options - for a posterior: `n`, `seed`, `eps`, `noise`, `limits`
 * @param limits - the model's resource limits (default {@link DEFAULT_LIMITS}); a call's own `limits` override them
 * @throws {@link InvalidOptionError} for a bad `n`, `seed`, `noise` or `latentShape`; {@link LimitExceededError}
 *   over `maxDraws`, or over `maxOutputPixels` for the draws' decoded size
 * @example
 * const prior = sampleLatents(vae.manifest, { n: 16, seed: 1 });
 */
export function sampleLatents(
  manifest: Manifest,
  first?: Posterior | PriorSampleOptions,
  options?: PosteriorSampleOptions,
  limits: ResolvedLimits = DEFAULT_LIMITS,
): VaeTensor {
  if (first instanceof Posterior) {
    // The model's limits, unless the call brings its own (or options that the posterior refuses).
    const inherit = options === undefined || (typeof options === 'object' && options !== null && options.limits === undefined);
    return first.sample(inherit ? { ...options, limits } : options);
  }
  const prior = first ?? {};
  const n = positiveIntegerOption(prior.n, 'n', 1);
  const itemShape = latentItemShape(manifest, prior.latentShape);
  checkDraws(resolveLimits(prior.limits, limits), manifest, n, itemShape);
  return noise([n, ...itemShape], prior);
}
