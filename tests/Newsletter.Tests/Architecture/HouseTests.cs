using System.Text.RegularExpressions;

namespace Newsletter.Tests.Architecture;

/// <summary>
/// The house keeps its arrows pointing down (docs/architecture.md): entry points over the use cases,
/// over the features, over the shared nouns and storage. Read from the source text as
/// <c>../shared/tools/house.py</c> reads it — a folder depends on another when one of its files names
/// <c>Newsletter.Other</c> (a using line or a qualified name) — and also where a file names
/// <c>Other.Type</c> alone, which house.py does not see.
/// </summary>
public sealed partial class HouseTests
{
    /// <summary>Each folder's layer, top (entry points) to bottom. A new folder must be placed here.</summary>
    private static readonly Dictionary<string, int> Layers = new(StringComparer.Ordinal)
    {
        ["Cli"] = 4, ["Admin"] = 4, ["Archive"] = 4, ["Hosting"] = 4, ["Web"] = 4, ["Scheduling"] = 4, ["Health"] = 4,
        ["Orchestration"] = 3,
        ["Sources"] = 2, ["Issues"] = 2, ["Rendering"] = 2, ["Delivery"] = 2, ["Subscriptions"] = 2, ["Bounces"] = 2,
        ["Model"] = 1, ["Storage"] = 1,
        ["Configuration"] = 0, ["Telemetry"] = 0,
    };

    private const int FeatureLayer = 2;

    [Fact]
    public void EveryFolderHasAPlaceInTheHouse()
    {
        var unplaced = Imports(SourceRoot()).Keys.Where(folder => !Layers.ContainsKey(folder)).ToList();

        Assert.True(unplaced.Count == 0, $"Folders with no layer in HouseTests.Layers (and docs/architecture.md): {string.Join(", ", unplaced)}");
    }

    [Fact]
    public void NoFolderImportsAFolderAboveItOrBesideItInALoop()
    {
        var problems = Problems(Imports(SourceRoot()));

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void DeliveryKnowsNothingOfIssuesReadersOrTemplates()
    {
        var delivery = Imports(SourceRoot())["Delivery"];

        Assert.DoesNotContain(delivery.Keys, target => target is "Issues" or "Subscriptions" or "Rendering" or "Sources");
    }

    [Fact]
    public void TheCheckFindsALoopAndAnArrowPointingUp()
    {
        // The check itself must be able to fail: a made-up tree with both faults.
        var root = Directory.CreateTempSubdirectory("house-").FullName;
        try
        {
            Write(root, "Delivery/Sender.cs", "using Newsletter.Issues;\nnamespace Newsletter.Delivery;");
            Write(root, "Issues/Composer.cs", "using Newsletter.Delivery;\nnamespace Newsletter.Issues;");
            Write(root, "Storage/Store.cs", "namespace Newsletter.Storage;\nclass S { Newsletter.Orchestration.X? x; }");
            Write(root, "Orchestration/X.cs", "namespace Newsletter.Orchestration;");
            Write(root, "Rendering/Checker.cs", "namespace Newsletter.Rendering;\nclass C { object o = Subscriptions.Mailer.Required; }");
            Write(root, "Subscriptions/Mailer.cs", "using Newsletter.Rendering;\nnamespace Newsletter.Subscriptions;");

            var problems = Problems(Imports(root));

            Assert.Contains(problems, p => p.StartsWith("cycle: Delivery Issues", StringComparison.Ordinal) && p.Contains("Sender.cs", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.StartsWith("Storage (layer 1) imports Orchestration (layer 3)", StringComparison.Ordinal) && p.Contains("Store.cs", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.StartsWith("cycle: Rendering Subscriptions", StringComparison.Ordinal) && p.Contains("Checker.cs", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Arrows that point up, and loops among the folders beside each other (the features).</summary>
    private static List<string> Problems(Dictionary<string, Dictionary<string, SortedSet<string>>> imports)
    {
        var problems = new List<string>();
        foreach (var (folder, targets) in imports)
            foreach (var (target, files) in targets)
                if (Layers.TryGetValue(folder, out var from) && Layers.TryGetValue(target, out var to)
                    && (to > from || (to == from && from != FeatureLayer)))
                    problems.Add($"{folder} (layer {from}) imports {target} (layer {to}): {string.Join(", ", files)}");
        foreach (var loop in Loops(imports))
            problems.Add("cycle: " + string.Join(" ", loop) + " :: " + string.Join("; ",
                from a in loop from b in loop where imports[a].ContainsKey(b) select $"{a}->{b} ({string.Join(",", imports[a][b])})"));
        return problems;
    }

    /// <summary>Strongly connected components of more than one folder (Tarjan).</summary>
    private static List<List<string>> Loops(Dictionary<string, Dictionary<string, SortedSet<string>>> imports)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var loops = new List<List<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in imports[v].Keys.Where(imports.ContainsKey))
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }
            if (low[v] != index[v])
                return;
            var component = new List<string>();
            string popped;
            do
            {
                popped = stack.Pop();
                onStack.Remove(popped);
                component.Add(popped);
            }
            while (popped != v);
            if (component.Count > 1)
                loops.Add(component.Order(StringComparer.Ordinal).ToList());
        }
        foreach (var folder in imports.Keys.Order(StringComparer.Ordinal))
            if (!index.ContainsKey(folder))
                Visit(folder);
        return loops;
    }

    /// <summary>Per folder of <paramref name="root"/>, the other folders its files name, with the files that name them.</summary>
    private static Dictionary<string, Dictionary<string, SortedSet<string>>> Imports(string root)
    {
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>()
            .Where(name => name is not ("bin" or "obj" or "Properties")).ToHashSet(StringComparer.Ordinal);
        var imports = folders.ToDictionary(f => f, _ => new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var folder in folders)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    || file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                    continue;
                var text = File.ReadAllText(file);
                foreach (var match in NamespaceReference().Matches(text).Concat(FolderQualifiedName().Matches(text)))
                {
                    var target = match.Groups[1].Value;
                    if (target == folder || !folders.Contains(target))
                        continue;
                    if (!imports[folder].TryGetValue(target, out var files))
                        imports[folder][target] = files = new SortedSet<string>(StringComparer.Ordinal);
                    files.Add(Path.GetFileName(file));
                }
            }
        return imports;
    }

    private static string SourceRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Newsletter.sln")))
                return Path.Combine(directory.FullName, "src", "Newsletter");
        throw new InvalidOperationException($"No Newsletter.sln above {AppContext.BaseDirectory}: the house test reads the sources of the checkout it was built from.");
    }

    private static void Write(string root, string path, string text)
    {
        var full = Path.Combine(root, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }

    [GeneratedRegex(@"\bNewsletter\.([A-Z][A-Za-z]+)\b")]
    private static partial Regex NamespaceReference();

    /// <summary>
    /// A name qualified by a folder alone (<c>Subscriptions.ConfirmationMailer</c>), which C# resolves
    /// inside namespace Newsletter without a using line; not a member access (<c>paper.Sources</c>).
    /// </summary>
    [GeneratedRegex(@"(?<![.\w])([A-Z][A-Za-z]+)\.[A-Z]")]
    private static partial Regex FolderQualifiedName();
}
