using Newsletter.Model;

namespace Newsletter.Issues;

/// <summary>
/// The one order of papers in a digest: score first, then recency (publication, else first seen),
/// then id, so that the order is total and a rerun ranks identically. IssueStore's SQL says the same.
/// </summary>
internal static class PaperRanking
{
    public static IOrderedEnumerable<T> Rank<T>(IEnumerable<T> items, Func<T, CandidatePaper> paper) => items
        .OrderByDescending(item => paper(item).Score)
        .ThenByDescending(item => paper(item).PublishedAt?.ToUnixTimeMilliseconds() ?? paper(item).FirstSeenAt)
        .ThenBy(item => paper(item).Id);
}
