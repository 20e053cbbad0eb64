using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Newsletter.Storage;

/// <summary>
/// ASP.NET Core Data Protection's key ring in the <c>data_protection_keys</c> table, shared by
/// every instance on the database. Data Protection calls this synchronously, hence no async here.
/// </summary>
public sealed class DatabaseXmlRepository(Database database) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        return connection.Query<string>("SELECT xml FROM data_protection_keys ORDER BY name").Select(XElement.Parse).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        // Two instances creating the first key at once both keep theirs: names are unique per key.
        connection.Execute("INSERT INTO data_protection_keys (name, xml) VALUES (@name, @xml) ON CONFLICT (name) DO NOTHING",
            new { name = friendlyName, xml = element.ToString(SaveOptions.DisableFormatting) });
    }
}
