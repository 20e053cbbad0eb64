using System.Text;
using System.Text.Json;

namespace Newsletter.Tests.Support;

/// <summary>A generated paper: its arXiv id, the topic cluster it was written from, and what a feed says of it.</summary>
public sealed record GeneratedPaper(string ArxivId, string Topic, string Title, string Summary, int Upvotes, string[] Authors)
{
    public string CanonicalId => "arxiv:" + ArxivId;
}

/// <summary>
/// Papers the tests write themselves: abstracts of 1,000–1,900 characters composed from per-topic term lists and
/// a filler shared by every topic (as real abstracts share "we release code" and "experiments show"), and the
/// Hugging Face daily papers JSON that carries them, for a fixture server to serve.
/// </summary>
public static class GeneratedPapers
{
    private sealed record Topic(string Name, string Field, string[] Tasks, string[] Methods, string[] Nouns, string[] Datasets, string[] Metrics, string[] Baselines);

    private static readonly Topic[] Topics =
    [
        new("quantum", "fault-tolerant quantum computing",
            ["surface code decoding", "logical qubit preparation", "magic state distillation", "syndrome extraction under circuit-level noise", "lattice surgery scheduling"],
            ["a minimum-weight perfect matching decoder", "a tensor-network decoder", "a belief-propagation decoder with ordered statistics", "a neural decoder for stabilizer measurements", "a flag-qubit extraction circuit"],
            ["stabilizer", "logical error rate", "physical qubit", "code distance", "leakage", "Pauli noise", "syndrome", "transmon", "ancilla", "threshold", "color code", "Clifford gate"],
            ["a superconducting 72-qubit processor", "a trapped-ion device with 32 qubits", "simulated circuit-level depolarizing noise", "a neutral-atom array"],
            ["the logical error rate per round", "the error-correction threshold", "the qubit overhead", "decoding latency"],
            ["union-find decoding", "standard lookup-table decoders", "the rotated surface code"]),
        new("robotics", "robot learning",
            ["dexterous in-hand manipulation", "legged locomotion over rough terrain", "sim-to-real transfer for grasping", "contact-rich assembly", "visuomotor policy learning"],
            ["proximal policy optimization with domain randomization", "a diffusion policy conditioned on point clouds", "model-predictive control with a learned dynamics model", "offline reinforcement learning from teleoperated demonstrations", "a tactile world model"],
            ["gripper", "end effector", "reward shaping", "joint torque", "proprioception", "quadruped", "actuator", "trajectory", "tactile sensor", "policy rollout", "teleoperation", "impedance controller"],
            ["a Franka Emika arm", "the Isaac Gym simulator", "a Unitree quadruped", "the RoboSuite benchmark"],
            ["task success rate", "grasp success", "tracking error", "sample efficiency"],
            ["behavior cloning", "hand-tuned controllers", "soft actor-critic"]),
        new("proteins", "computational structural biology",
            ["protein structure prediction", "de novo protein design", "protein-ligand binding affinity estimation", "antibody complementarity-determining region design", "enzyme function annotation"],
            ["an SE(3)-equivariant graph network over residues", "a protein language model fine-tuned on multiple sequence alignments", "a diffusion model over backbone frames", "inverse folding with a structure-conditioned decoder", "a contrastive encoder of binding pockets"],
            ["amino acid", "residue", "backbone torsion", "multiple sequence alignment", "binding pocket", "side chain", "fold", "epitope", "ligand", "Cα coordinates", "homolog", "secondary structure"],
            ["the CASP15 targets", "the Protein Data Bank", "the PDBbind core set", "the CATH domain split"],
            ["TM-score", "root-mean-square deviation of Cα atoms", "sequence recovery", "docking success"],
            ["AlphaFold2", "RoseTTAFold", "ProteinMPNN"]),
        new("speech", "speech and audio processing",
            ["automatic speech recognition in low-resource languages", "streaming speaker diarization", "text-to-speech synthesis with expressive prosody", "speech enhancement in reverberant rooms", "spoken language understanding"],
            ["a conformer encoder with connectionist temporal classification", "self-supervised pretraining on unlabelled speech", "a neural vocoder with multi-band discriminators", "a transducer with a streaming attention mask", "a codec language model over discrete audio tokens"],
            ["phoneme", "acoustic model", "spectrogram", "word error rate", "speaker embedding", "prosody", "vocoder", "mel filterbank", "utterance", "accent", "waveform", "pronunciation lexicon"],
            ["LibriSpeech", "Common Voice", "the VoxCeleb corpus", "the CHiME-6 dinner-party recordings"],
            ["word error rate", "diarization error rate", "mean opinion score", "real-time factor"],
            ["Whisper", "wav2vec 2.0", "hybrid HMM-DNN systems"]),
        new("galaxies", "observational cosmology",
            ["photometric redshift estimation", "weak gravitational lensing shear measurement", "galaxy morphology classification", "supernova light-curve classification", "baryon acoustic oscillation analysis"],
            ["a Bayesian hierarchical model of galaxy populations", "a convolutional network on multi-band images", "simulation-based inference with normalizing flows", "a Gaussian-process model of light curves", "a forward model of the survey's selection function"],
            ["redshift", "dark energy", "galaxy cluster", "luminosity function", "point spread function", "cosmic shear", "spectroscopic survey", "Hubble constant", "dark matter halo", "photometry", "telescope", "stellar mass"],
            ["the Dark Energy Survey year-3 catalogue", "Sloan Digital Sky Survey spectra", "simulated Rubin Observatory LSST images", "the Euclid flagship simulation"],
            ["redshift bias", "the figure of merit on dark energy parameters", "classification purity", "the constraint on the matter density"],
            ["template-fitting photometric redshifts", "moment-based shear estimators", "random forests on catalogue features"]),
        new("climate", "weather and climate modelling",
            ["medium-range weather forecasting", "precipitation nowcasting from radar", "downscaling of climate projections", "tropical cyclone track prediction", "seasonal forecasting of sea-surface temperature"],
            ["a graph neural network on an icosahedral mesh", "a spherical Fourier neural operator", "an ensemble generated by a diffusion model", "a data-assimilation scheme with learned background errors", "a transformer over atmospheric reanalysis fields"],
            ["reanalysis", "geopotential height", "precipitation", "ensemble spread", "lead time", "boundary condition", "radar echo", "sea-surface temperature", "atmospheric pressure level", "general circulation model", "extreme rainfall", "humidity"],
            ["the ERA5 reanalysis", "WeatherBench 2", "CMIP6 projections", "radar composites of the national weather service"],
            ["root-mean-square error of 500 hPa geopotential", "the continuous ranked probability score", "track error at five days", "the critical success index"],
            ["the IFS operational forecast", "persistence forecasts", "statistical downscaling"]),
    ];

    private static readonly string[] Filler =
    [
        "We release code and data to support reproducibility.",
        "Ablation studies isolate the contribution of each component of the approach.",
        "The method is simple to implement and adds little computational overhead.",
        "We discuss limitations of the evaluation and directions for future work.",
        "Our analysis further clarifies when the approach is expected to help and when it is not.",
        "Results are averaged over several random seeds and reported with confidence intervals.",
    ];

    public static IReadOnlyList<string> TopicNames { get; } = Topics.Select(t => t.Name).ToArray();

    /// <summary>
    /// <paramref name="perTopic"/> papers of each topic, interleaved, with random upvotes; the same for the same seed.
    /// Titles and upvotes are all different, so that an order by score is one order and a title is found once.
    /// </summary>
    public static List<GeneratedPaper> Corpus(int perTopic, int seed = 21, string idPrefix = "2601")
    {
        var random = new Random(seed);
        var papers = new List<GeneratedPaper>();
        for (var i = 0; i < perTopic; i++)
            foreach (var topic in Topics)
            {
                GeneratedPaper paper;
                do paper = Write(topic, random, $"{idPrefix}.{papers.Count + 10001:00000}");
                while (papers.Any(p => p.Title == paper.Title || p.Upvotes == paper.Upvotes));
                papers.Add(paper);
            }
        return papers;
    }

    private static GeneratedPaper Write(Topic topic, Random random, string id)
    {
        string Pick(string[] items) => items[random.Next(items.Length)];
        var task = Pick(topic.Tasks);
        var method = Pick(topic.Methods);
        var title = $"{Capital(method.StartsWith("a ", StringComparison.Ordinal) ? method[2..] : method)} for {task}";
        var length = random.Next(1_050, 1_800);
        var text = new StringBuilder();
        text.Append($"We study {task}, a central problem in {topic.Field}. ");
        text.Append($"Existing approaches built on {Pick(topic.Baselines)} struggle when the {Pick(topic.Nouns)} and the {Pick(topic.Nouns)} interact. ");
        text.Append($"We propose {method}, which models the {Pick(topic.Nouns)} jointly with the {Pick(topic.Nouns)}. ");
        var sentences = new Func<string>[]
        {
            () => $"Experiments on {Pick(topic.Datasets)} improve {Pick(topic.Metrics)} by {random.Next(3, 40)}% over {Pick(topic.Baselines)}. ",
            () => $"The {Pick(topic.Nouns)} is estimated from the {Pick(topic.Nouns)} without hand-tuned thresholds. ",
            () => $"We further show that accounting for the {Pick(topic.Nouns)} reduces errors in {Pick(topic.Tasks)}. ",
            () => $"On {Pick(topic.Datasets)}, the gains in {Pick(topic.Metrics)} hold across {Pick(topic.Nouns)} regimes. ",
            () => $"A theoretical analysis relates the {Pick(topic.Nouns)} to {Pick(topic.Metrics)}. ",
            () => Pick(Filler) + " ",
        };
        while (text.Length < length)
            text.Append(sentences[random.Next(sentences.Length)]());
        var summary = text.ToString().Trim();
        if (summary.Length > 1_900)
            summary = summary[..1_900].TrimEnd() + ".";
        var authors = new[] { $"{Pick(Given)} {Pick(Family)}", $"{Pick(Given)} {Pick(Family)}" };
        return new GeneratedPaper(id, topic.Name, title, summary, random.Next(0, 1000), authors);
    }

    private static readonly string[] Given = ["Ada", "Grace", "Alan", "Maria", "Wei", "Fatima", "Kenji", "Olga", "Ravi", "Lena"];
    private static readonly string[] Family = ["Lovelace", "Hopper", "Turing", "Okafor", "Chen", "Haddad", "Sato", "Ivanova", "Patel", "Berg"];

    private static string Capital(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>The papers as the Hugging Face daily papers API lists them (the fields our parser reads).</summary>
    public static byte[] HuggingFaceJson(IEnumerable<GeneratedPaper> papers, DateTimeOffset published)
    {
        var items = papers.Select(p => new
        {
            paper = new
            {
                id = p.ArxivId,
                authors = p.Authors.Select(a => new { name = a, hidden = false }),
                publishedAt = published.ToString("O"),
                title = p.Title,
                summary = p.Summary,
                upvotes = p.Upvotes,
            },
            publishedAt = published.ToString("O"),
            title = p.Title,
            summary = p.Summary,
        });
        return JsonSerializer.SerializeToUtf8Bytes(items);
    }
}
