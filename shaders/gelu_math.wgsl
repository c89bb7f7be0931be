// Exact-form GELU for WGSL, which has no erf. Prepended through a pipeline `header` by every
// shader that needs it (gelu.wgsl, matmul.wgsl). Absolute error of erf below 1e-6 in f32.

// erfc(z) for z >= 0: Chebyshev fit with relative error below 1.2e-7 (Numerical Recipes 6.2).
fn erfc_nonneg(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(p);
}

// erf(z) for |z| < 1: Maclaurin series 2/√π · Σ (-1)^n z^(2n+1) / (n! (2n+1)) to n = 10
// (truncation below 2e-9); keeps relative accuracy near zero, where 1 - erfc would cancel.
fn erf_small(z: f32) -> f32 {
  let s = z * z;
  var p = 1.4807192815879218e-08;
  p = fma(p, s, -1.6365844691234924e-07);
  p = fma(p, s, 1.6462114365889246e-06);
  p = fma(p, s, -1.492565035840625e-05);
  p = fma(p, s, 0.00012055332981789664);
  p = fma(p, s, -0.0008548327023450852);
  p = fma(p, s, 0.005223977625442188);
  p = fma(p, s, -0.026866170645131252);
  p = fma(p, s, 0.11283791670955126);
  p = fma(p, s, -0.37612638903183754);
  p = fma(p, s, 1.1283791670955126);
  return z * p;
}

fn erf(x: f32) -> f32 {
  let z = abs(x);
  if (z < 1.0) {
    return erf_small(x);
  }
  return sign(x) * (1.0 - erfc_nonneg(z));
}

// GELU(x) = x · Φ(x) = 0.5 · x · erfc(-x / √2); for x < -√2 the erfc form keeps relative accuracy.
fn gelu(x: f32) -> f32 {
  let z = x * 0.7071067811865476;
  if (z >= -1.0) {
    return 0.5 * x * (1.0 + erf(z));
  }
  return 0.5 * x * erfc_nonneg(-z);
}
