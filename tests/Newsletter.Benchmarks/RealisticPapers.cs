/// <summary>
/// Papers with the lengths of a real Hugging Face / arXiv day, drawn deterministically (the same
/// seed gives the same papers on every run and machine): titles of 60–140 characters, 3–12 authors,
/// abstracts of 1,000–1,900 characters of machine-learning prose, with the odd non-ASCII character
/// and inline formula real abstracts have. Each paper names three of the 40 bench keywords, so
/// keyword groups pick different papers from one pool.
/// </summary>
public static class RealisticPapers
{
    public const int MinAbstract = 1_000;
    public const int MaxAbstract = 1_900;

    /// <summary>The 40 keywords (topicaa, topicab, ...): C(40, 2) = 780 distinct pairs, so up to 780 groups with different papers.</summary>
    public static string Keyword(int k) => $"topic{(char)('a' + k / 26)}{(char)('a' + k % 26)}";

    private static readonly string[] Nouns =
    [
        "transformer", "language model", "diffusion model", "attention mechanism", "reward model", "policy", "benchmark",
        "encoder", "decoder", "tokenizer", "embedding space", "retrieval pipeline", "vision-language model", "agent",
        "mixture of experts", "state-space model", "optimizer", "loss landscape", "training curriculum", "dataset",
        "preference data", "reasoning trace", "chain of thought", "latent representation", "inference budget",
        "quantization scheme", "sparse autoencoder", "graph neural network", "point cloud", "video generator",
        "speech recognizer", "world model", "KV cache", "context window", "distillation objective", "evaluation protocol",
    ];

    private static readonly string[] Verbs =
    [
        "improves", "outperforms", "generalizes", "reduces", "stabilizes", "scales", "aligns", "compresses", "accelerates",
        "regularizes", "calibrates", "transfers", "adapts", "matches", "surpasses",
    ];

    private static readonly string[] Adjectives =
    [
        "efficient", "robust", "scalable", "sparse", "multimodal", "long-context", "self-supervised", "data-efficient",
        "parameter-efficient", "zero-shot", "few-shot", "interpretable", "adaptive", "hierarchical", "causal", "lightweight",
    ];

    private static readonly string[] Frames =
    [
        "We introduce {A} {N} that {V} the {N} across {K} tasks.",
        "Existing approaches to {N} rely on costly {N}, which limits their use in {A} settings.",
        "Our method {V} a strong {N} baseline by {P} on average while using {P} fewer parameters.",
        "We further show that the {N} {V} to unseen domains without additional fine-tuning.",
        "Extensive experiments on {K} and three standard benchmarks demonstrate that {A} {N} {V} prior work.",
        "To this end, we propose a {A} {N} whose {N} is learned jointly with the {N}.",
        "Theoretical analysis shows that the resulting {N} converges in $O(n \\log n)$ steps under mild assumptions.",
        "Ablations reveal that the {N} is the key component, and removing it degrades accuracy by {P}.",
        "We release code, model weights and a {A} {N} to facilitate future research on {K}.",
        "Surprisingly, a {A} {N} trained on only {P} of the data {V} the full-data {N}.",
        "This raises the question of whether {N} and {N} can be unified within a single {A} framework.",
        "On the {K} suite, our model reaches {P} accuracy — a new state of the art at 7B scale.",
    ];

    private static readonly string[] TitleWords =
    [
        "Scaling", "Sparse", "Mixture-of-Experts", "Models", "for", "Long-Context", "Reasoning", "Efficient", "Diffusion",
        "Transformers", "via", "Learned", "Routing", "Towards", "Robust", "Alignment", "of", "Large", "Language", "Agents",
        "Rethinking", "Attention", "in", "Multimodal", "Retrieval", "Self-Supervised", "Pretraining", "with", "Preference",
        "Optimization", "Beyond", "Next-Token", "Prediction", "A", "Unified", "Framework", "Benchmarking", "World", "Models",
        "Test-Time", "Compute", "and", "the", "Limits", "Distillation", "Quantized", "Inference", "on", "Edge", "Devices",
    ];

    private static readonly string[] FirstNames =
    [
        "Wei", "Ana", "Yuki", "Lukas", "Priya", "Mohammed", "Sofia", "Jian", "Olga", "Mateo", "Chloé", "Arjun", "Hana",
        "Björn", "Fatima", "Kenji", "Zoë", "Rahul", "Elena", "Tomás", "Mei", "Daniel", "Aisha", "Jonas", "Sara",
    ];

    private static readonly string[] Surnames =
    [
        "Zhang", "Müller", "Tanaka", "García", "Patel", "Nguyen", "Kowalski", "Smith", "Ivanova", "Rossi", "Kim", "Haddad",
        "Johansson", "Chen", "Okafor", "Dubois", "Singh", "Fernández", "Yamamoto", "Li", "Novák", "Schmidt", "Silva", "Wang",
    ];

    /// <summary>COUNT papers in the Hugging Face daily-papers JSON shape, ranked by their upvotes (paper 1 first).</summary>
    public static object[] Create(int count) => Enumerable.Range(1, count).Select(i => (object)Paper(i)).ToArray();

    private static object Paper(int i)
    {
        var random = new Random(i * 7919 + 17); // deterministic per paper, whatever the count
        var keywords = new[] { Keyword(i * 7 % 40), Keyword(i * 13 % 40), Keyword(i * 17 % 40) };
        return new
        {
            paper = new
            {
                id = $"2509.{10000 + i}",
                title = Title(random),
                summary = Abstract(random, keywords),
                authors = Enumerable.Range(0, random.Next(3, 13))
                    .Select(_ => new { name = $"{Pick(random, FirstNames)} {Pick(random, Surnames)}", hidden = false }).ToArray(),
                upvotes = 1000 - i,
                publishedAt = "2025-09-05T12:00:00.000Z",
            },
        };
    }

    private static string Title(Random random)
    {
        // Words up to past the target, then cut at a space: 60-140 characters (the longest word is 18).
        var target = random.Next(79, 141);
        var words = new List<string>();
        while (words.Sum(w => w.Length + 1) - 1 < target)
            words.Add(Pick(random, TitleWords));
        var title = string.Join(' ', words);
        if (random.Next(3) == 0 && words.Count > 4)
            title = string.Join(' ', words.Take(3)) + ": " + string.Join(' ', words.Skip(3));
        return Fit(title, target);
    }

    private static string Abstract(Random random, string[] keywords)
    {
        var target = random.Next(MinAbstract + 30, MaxAbstract + 1); // the cut at a word takes up to ~25
        var text = new System.Text.StringBuilder();
        var keyword = 0;
        while (text.Length < target)
        {
            var sentence = Pick(random, Frames)
                .Replace("{K}", keywords[keyword++ % keywords.Length], StringComparison.Ordinal);
            sentence = Fill(sentence, "{N}", () => Pick(random, Nouns));
            sentence = Fill(sentence, "{V}", () => Pick(random, Verbs));
            sentence = Fill(sentence, "{A}", () => Pick(random, Adjectives));
            sentence = Fill(sentence, "{P}", () => $"{random.Next(2, 40)}.{random.Next(10)}%");
            if (text.Length > 0)
                text.Append(' ');
            text.Append(char.ToUpperInvariant(sentence[0])).Append(sentence, 1, sentence.Length - 1);
        }
        // Every keyword appears (the first sentences carry them); the end is cut at a word, as a full stop.
        var cut = Fit(text.ToString(), target).TrimEnd('.', ',', ' ');
        return cut + ".";
    }

    private static string Fill(string text, string slot, Func<string> value)
    {
        int at;
        while ((at = text.IndexOf(slot, StringComparison.Ordinal)) >= 0)
            text = string.Concat(text.AsSpan(0, at), value(), text.AsSpan(at + slot.Length));
        return text;
    }

    /// <summary>At most <paramref name="length"/> characters, cut at a space.</summary>
    private static string Fit(string text, int length)
    {
        if (text.Length <= length)
            return text;
        var space = text.LastIndexOf(' ', length - 1);
        return text[..(space > 0 ? space : length)];
    }

    private static string Pick(Random random, string[] words) => words[random.Next(words.Length)];
}
