using Dapper;

namespace Newsletter.Tests.Support;

public static class EntryQueries
{
    public static async Task<List<(string CanonicalId, string Title, string Summary, string Authors, string Url, long Score)>> AllAsync(TestHost host)
    {
        await using var connection = await host.OpenAsync();
        return (await connection.QueryAsync<(string, string, string, string, string, long)>(
            "SELECT canonical_id, title, summary, authors, url, score FROM entries ORDER BY canonical_id")).ToList();
    }
}
