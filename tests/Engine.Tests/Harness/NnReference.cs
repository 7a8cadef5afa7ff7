namespace Dsoup.Engine.Tests.Harness;

/// <summary>
/// Float64 references of the neural-network ops, written from their definitions (reference/sd-architecture.md
/// §9) on flattened row-major arrays, sharing nothing with the engine's kernels.
/// </summary>
public static class NnReference
{
    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public static double Silu(double x) => x * Sigmoid(x);

    public static double QuickGelu(double x) => x * Sigmoid(1.702 * x);

    public static double Gelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));

    /// <summary>erf by its Maclaurin series (|x| &lt; 3) or the continued fraction of erfc (beyond), to about 1e-13.</summary>
    public static double Erf(double x)
    {
        double a = Math.Abs(x);
        if (a < 3)
        {
            double term = a, sum = a;
            for (int n = 1; n < 200 && Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
            {
                term *= -a * a / n;
                sum += term / (2 * n + 1);
            }
            return Math.Sign(x) * 2 / Math.Sqrt(Math.PI) * sum;
        }
        // erfc(a) = exp(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + …))))), evaluated from the tail.
        double fraction = a;
        for (int k = 60; k >= 1; k--)
        {
            fraction = a + k / 2.0 / fraction;
        }
        double erfc = Math.Exp(-a * a) / Math.Sqrt(Math.PI) / fraction;
        return Math.Sign(x) * (1 - erfc);
    }

    /// <summary>Softmax over rows of <paramref name="columns"/>; with <paramref name="queries"/> &gt; 0 row r is query r mod queries under an end-aligned causal mask.</summary>
    public static double[] Softmax(double[] x, int columns, int queries = 0)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / columns; r++)
        {
            int visible = queries > 0 ? Math.Min(columns, r % queries + 1 + columns - queries) : columns;
            double max = double.NegativeInfinity;
            for (int j = 0; j < visible; j++)
            {
                max = Math.Max(max, x[r * columns + j]);
            }
            double sum = 0;
            for (int j = 0; j < visible; j++)
            {
                sum += Math.Exp(x[r * columns + j] - max);
            }
            for (int j = 0; j < visible; j++)
            {
                y[r * columns + j] = Math.Exp(x[r * columns + j] - max) / sum;
            }
        }
        return y;
    }

    /// <summary>LayerNorm over rows of <paramref name="width"/>.</summary>
    public static double[] LayerNorm(double[] x, double[] weight, double[] bias, int width, double eps)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / width; r++)
        {
            (double mean, double rstd) = Statistics(x, r * width, width, eps);
            for (int j = 0; j < width; j++)
            {
                y[r * width + j] = (x[r * width + j] - mean) * rstd * weight[j] + bias[j];
            }
        }
        return y;
    }

    /// <summary>GroupNorm of [N, C, spatial] into contiguous channel groups.</summary>
    public static double[] GroupNorm(double[] x, double[] weight, double[] bias, int batch, int channels, int groups, int spatial, double eps)
    {
        var y = new double[x.Length];
        int perGroup = channels / groups * spatial;
        for (int n = 0; n < batch; n++)
        {
            for (int g = 0; g < groups; g++)
            {
                int start = (n * groups + g) * perGroup;
                (double mean, double rstd) = Statistics(x, start, perGroup, eps);
                for (int j = 0; j < perGroup; j++)
                {
                    int c = g * (channels / groups) + j / spatial;
                    y[start + j] = (x[start + j] - mean) * rstd * weight[c] + bias[c];
                }
            }
        }
        return y;
    }

    private static (double Mean, double Rstd) Statistics(double[] x, int start, int length, double eps)
    {
        double mean = x.Skip(start).Take(length).Average();
        double variance = x.Skip(start).Take(length).Select(v => (v - mean) * (v - mean)).Average();
        return (mean, 1 / Math.Sqrt(variance + eps));
    }

    /// <summary>Direct 2-D convolution of [N, C, H, W] with [O, C, kh, kw], zero padding (top, left, bottom, right).</summary>
    public static double[] Conv2d(double[] x, double[] w, double[]? bias, int n, int c, int h, int wd, int o, int kh, int kw,
        int stride, int top, int left, int bottom, int right)
    {
        int oh = (h + top + bottom - kh) / stride + 1, ow = (wd + left + right - kw) / stride + 1;
        var y = new double[n * o * oh * ow];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = bias?[i / (oh * ow) % o] ?? 0;
        }
        ForEachConvTerm(n, c, h, wd, o, kh, kw, stride, top, left, bottom, right, (xi, wi, yi) => y[yi] += x[xi] * w[wi]);
        return y;
    }

    /// <summary>The gradients of Σ seed·Conv2d for x, w and (when given) the bias, from the same sum of products.</summary>
    public static double[][] Conv2dGradient(double[] x, double[] w, double[]? bias, double[] seed, int n, int c, int h, int wd, int o,
        int kh, int kw, int stride, int top, int left, int bottom, int right)
    {
        var gx = new double[x.Length];
        var gw = new double[w.Length];
        ForEachConvTerm(n, c, h, wd, o, kh, kw, stride, top, left, bottom, right, (xi, wi, yi) =>
        {
            gx[xi] += seed[yi] * w[wi];
            gw[wi] += seed[yi] * x[xi];
        });
        if (bias is null)
        {
            return [gx, gw];
        }
        int pixels = seed.Length / (n * o);
        var gb = new double[o];
        for (int i = 0; i < seed.Length; i++)
        {
            gb[i / pixels % o] += seed[i];
        }
        return [gx, gw, gb];
    }

    /// <summary>Calls <paramref name="term"/> with the (x, w, y) indices of every product a convolution sums.</summary>
    private static void ForEachConvTerm(int n, int c, int h, int wd, int o, int kh, int kw, int stride, int top, int left, int bottom, int right,
        Action<int, int, int> term)
    {
        int oh = (h + top + bottom - kh) / stride + 1, ow = (wd + left + right - kw) / stride + 1;
        for (int b = 0; b < n; b++)
        {
            for (int f = 0; f < o; f++)
            {
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        for (int ch = 0; ch < c; ch++)
                        {
                            for (int ky = 0; ky < kh; ky++)
                            {
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int iy = oy * stride - top + ky, ix = ox * stride - left + kx;
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                                    {
                                        term(((b * c + ch) * h + iy) * wd + ix, ((f * c + ch) * kh + ky) * kw + kx, ((b * o + f) * oh + oy) * ow + ox);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Multi-head attention on [B, N, C] arrays, written per head with explicit loops.</summary>
    public static double[] Attention(double[] q, double[] k, double[] v, int batch, int queries, int keys, int channels, int heads, bool causal)
    {
        int d = channels / heads;
        var output = new double[batch * queries * channels];
        for (int b = 0; b < batch; b++)
        {
            for (int hd = 0; hd < heads; hd++)
            {
                for (int i = 0; i < queries; i++)
                {
                    var scores = new double[keys];
                    for (int j = 0; j < keys; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < d; e++)
                        {
                            dot += q[(b * queries + i) * channels + hd * d + e] * k[(b * keys + j) * channels + hd * d + e];
                        }
                        scores[j] = dot / Math.Sqrt(d);
                    }
                    int visible = causal ? Math.Min(keys, i + 1 + keys - queries) : keys;
                    double[] p = [.. Softmax(scores[..visible], visible), .. new double[keys - visible]];
                    for (int e = 0; e < d; e++)
                    {
                        double sum = 0;
                        for (int j = 0; j < keys; j++)
                        {
                            sum += p[j] * v[(b * keys + j) * channels + hd * d + e];
                        }
                        output[(b * queries + i) * channels + hd * d + e] = sum;
                    }
                }
            }
        }
        return output;
    }

    /// <summary>
    /// Gradients of Σ seed·Attention(q, k, v) for q, k and v, from the calculus of softmax attention
    /// (P = softmax(S), dV = Pᵀ·dO, dS = P ∘ (dO·Vᵀ − rowsum(P ∘ dO·Vᵀ)), dQ = dS·K/√d, dK = dSᵀ·Q/√d),
    /// for shapes too large for finite differences.
    /// </summary>
    public static double[][] AttentionGradient(double[] q, double[] k, double[] v, double[] seed,
        int batch, int queries, int keys, int channels, int heads, bool causal)
    {
        int d = channels / heads;
        double scale = 1 / Math.Sqrt(d);
        var gq = new double[q.Length];
        var gk = new double[k.Length];
        var gv = new double[v.Length];
        for (int b = 0; b < batch; b++)
        {
            for (int hd = 0; hd < heads; hd++)
            {
                int Q(int i, int e) => (b * queries + i) * channels + hd * d + e;
                int K(int j, int e) => (b * keys + j) * channels + hd * d + e;
                for (int i = 0; i < queries; i++)
                {
                    int visible = causal ? Math.Min(keys, i + 1 + keys - queries) : keys;
                    var scores = new double[visible];
                    for (int j = 0; j < visible; j++)
                    {
                        for (int e = 0; e < d; e++)
                        {
                            scores[j] += q[Q(i, e)] * k[K(j, e)] * scale;
                        }
                    }
                    double[] p = Softmax(scores, visible);
                    var gradP = new double[visible];
                    double rowDot = 0;
                    for (int j = 0; j < visible; j++)
                    {
                        for (int e = 0; e < d; e++)
                        {
                            gradP[j] += seed[Q(i, e)] * v[K(j, e)];
                            gv[K(j, e)] += p[j] * seed[Q(i, e)];
                        }
                        rowDot += p[j] * gradP[j];
                    }
                    for (int j = 0; j < visible; j++)
                    {
                        double gradScore = p[j] * (gradP[j] - rowDot) * scale;
                        for (int e = 0; e < d; e++)
                        {
                            gq[Q(i, e)] += gradScore * k[K(j, e)];
                            gk[K(j, e)] += gradScore * q[Q(i, e)];
                        }
                    }
                }
            }
        }
        return [gq, gk, gv];
    }
}
