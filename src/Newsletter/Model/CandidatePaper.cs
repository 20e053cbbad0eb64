namespace Newsletter.Model;

/// <summary>
/// A collected paper with what filtering and ranking need: its categories, every source that listed it, and its
/// sentence embedding (<see cref="PaperVector"/>; null until embedded, or with <c>Ranking:Model</c> off), and its card
/// (<see cref="PaperCard"/>: code, project page, discussion, organisation, summary; null when no source told any).
/// </summary>
public sealed record CandidatePaper(
    long Id,
    string Title,
    string Summary,
    IReadOnlyList<string> Authors,
    string Url,
    int Score,
    DateTimeOffset? PublishedAt,
    string Source,
    IReadOnlyList<string> Categories,
    IReadOnlyList<string> Sources,
    long FirstSeenAt,
    float[]? Embedding = null,
    PaperCard? Card = null);
