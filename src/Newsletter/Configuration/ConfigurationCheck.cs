using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace Newsletter.Configuration;

/// <summary>An options class and the configuration section it is bound to.</summary>
public sealed record CheckedSection(Type OptionsType, string Section);

/// <summary>
/// A check of the environment the configuration names (a folder exists, holds the right files),
/// run by <see cref="ConfigurationCheck"/> before start-up but not on every options access.
/// </summary>
public interface IStartupRequirement
{
    /// <summary>One sentence per problem, naming its key; <paramref name="configuration"/> holds only convertible values.</summary>
    IEnumerable<string> Problems(IConfiguration configuration);
}

/// <summary>The outcome of <see cref="ConfigurationCheck"/>: problems stop start-up, warnings do not.</summary>
public sealed record ConfigurationReport(IReadOnlyList<string> Problems, IReadOnlyList<string> Warnings);

/// <summary>
/// Checks the whole configuration in one pass before anything starts, so an operator fixes every
/// mistake in one go: each value the binder could not convert (an enum names its allowed values),
/// then every validator, run on a copy of the configuration without those values — one bad value
/// never hides the others. Keys nobody reads are warnings with the nearest known key.
/// The binder silently drops an array element it cannot convert (a source with a mistyped
/// <c>Kind</c> vanished, and with none left the built-in defaults came back); here it is an error.
/// </summary>
public sealed class ConfigurationCheck(IConfiguration configuration, IServiceProvider services, IEnumerable<CheckedSection> sections)
{
    private readonly CheckedSection[] _sections = sections.ToArray();

    /// <param name="skip">Requirements a caller checks itself (<c>templates check</c> lists missing templates its own way).</param>
    public ConfigurationReport Run(Func<IStartupRequirement, bool>? skip = null)
    {
        var problems = new List<string>();
        var badKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var known = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var section in _sections)
        {
            Walk(configuration.GetSection(section.Section), section.OptionsType, problems, badKeys, known);
            // "Newsletter:Smtp" makes "Smtp" a known child of "Newsletter".
            var parts = section.Section.Split(':');
            for (var i = 1; i < parts.Length; i++)
                KnownChildren(known, string.Join(':', parts[..i])).Add(parts[i]);
        }

        // A connection string means something only for its provider: with the provider unreadable
        // it cannot be judged, and a second sentence about it would only mislead.
        foreach (var provider in badKeys.Where(k => k.EndsWith(":Database:Provider", StringComparison.OrdinalIgnoreCase)).ToArray())
            badKeys.Add(provider[..^"Provider".Length] + "ConnectionString");

        // Validators see every good value; the bad ones are left out (their problem is already named).
        var sanitized = new ConfigurationBuilder()
            .AddInMemoryCollection(configuration.AsEnumerable().Where(pair => !IsUnder(pair.Key, badKeys)))
            .Build();
        foreach (var section in _sections)
        {
            var validate = typeof(ConfigurationCheck).GetMethod(nameof(Validate), BindingFlags.NonPublic | BindingFlags.Instance)!
                .MakeGenericMethod(section.OptionsType);
            problems.AddRange((IEnumerable<string>)validate.Invoke(this, [sanitized.GetSection(section.Section)])!);
        }
        foreach (var requirement in services.GetServices<IStartupRequirement>().Where(r => skip?.Invoke(r) != true))
            problems.AddRange(requirement.Problems(sanitized));

        var warnings = new List<string>();
        var roots = _sections.Select(s => s.Section.Split(':')[0]).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        foreach (var root in roots)
            FindUnknown(configuration.GetSection(root), known, warnings);
        warnings.AddRange(UnknownSections(roots));
        return new ConfigurationReport(problems.Distinct().ToArray(), warnings);
    }

    /// <summary>What the host and ASP.NET Core read beside ours; any other top-level section of a settings file is read by nobody.</summary>
    private static readonly string[] HostSections =
    [
        "Logging", "AllowedHosts", "Kestrel", "urls", "http_ports", "https_ports", "ConnectionStrings", "DetailedErrors",
        "environment", "applicationName", "contentRoot", "webroot", "hostBuilder", "HostingStartupAssemblies",
        "HostingStartupExcludeAssemblies", "PreventHostingStartup", "SuppressStatusMessages", "ShutdownTimeoutSeconds",
        "CaptureStartupErrors", "PreferHostingUrls", "$schema",
    ];

    /// <summary>
    /// A misspelt top-level section ("Newsleter") is read by nobody, so every setting in it silently
    /// falls back to its default (the internet sources, the pickup folder): a warning with the
    /// nearest name. Only the settings files are looked at: the environment holds PATH, HOME and the like.
    /// </summary>
    private IEnumerable<string> UnknownSections(string[] roots)
    {
        if (configuration is not IConfigurationRoot root)
            yield break;
        var known = roots.Concat(HostSections).ToArray();
        foreach (var file in root.Providers.OfType<Microsoft.Extensions.Configuration.FileConfigurationProvider>())
            foreach (var key in file.GetChildKeys([], null).Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (known.Contains(key, StringComparer.OrdinalIgnoreCase))
                    continue;
                var name = Path.GetFileName(file.Source.Path) ?? "a settings file";
                yield return Suggestions.Nearest(key, known) is { } nearest
                    ? $"Unknown section '{key}' in {name}; did you mean '{nearest}'? Its keys are ignored."
                    : $"Unknown section '{key}' in {name}; its keys are ignored.";
            }
    }

    private IEnumerable<string> Validate<TOptions>(IConfigurationSection section) where TOptions : class
    {
        var options = section.Get<TOptions>() ?? Activator.CreateInstance<TOptions>();
        foreach (var post in services.GetServices<IPostConfigureOptions<TOptions>>())
            post.PostConfigure(Options.DefaultName, options);
        foreach (var validator in services.GetServices<IValidateOptions<TOptions>>())
            if (validator.Validate(Options.DefaultName, options) is { Failed: true, Failures: { } failures })
                foreach (var failure in failures)
                    yield return failure;
    }

    private static bool IsUnder(string key, HashSet<string> badKeys)
    {
        for (var prefix = key; ; prefix = prefix[..prefix.LastIndexOf(':')])
        {
            if (badKeys.Contains(prefix))
                return true;
            if (!prefix.Contains(':'))
                return false;
        }
    }

    private static HashSet<string> KnownChildren(Dictionary<string, HashSet<string>> known, string path) =>
        known.TryGetValue(path, out var children) ? children : known[path] = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Tries every configured value under <paramref name="section"/> as the binder would bind it into <paramref name="type"/>.</summary>
    private static void Walk(IConfigurationSection section, Type type, List<string> problems, HashSet<string> badKeys, Dictionary<string, HashSet<string>> known)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (IsScalar(target))
        {
            if (section.Value is { } value && ConversionProblem(value, target) is { } problem)
            {
                problems.Add($"{section.Path} {problem}");
                badKeys.Add(section.Path);
            }
            return;
        }
        if (ElementType(target) is { } element)
        {
            var children = section.GetChildren().ToArray();
            if (children.Any(c => !int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                problems.Add($"{section.Path} must be a list (in JSON an array [ ... ]; in the environment {section.Path.Replace(":", "__", StringComparison.Ordinal)}__0__...).");
                badKeys.Add(section.Path);
                return;
            }
            foreach (var child in children)
                Walk(child, element, problems, badKeys, known);
            return;
        }
        if (target.Namespace?.StartsWith("System", StringComparison.Ordinal) == true)
            return; // a framework type the binder treats as a whole
        if (section.Value is { Length: > 0 } && !section.GetChildren().Any())
        {
            problems.Add($"{section.Path} must be a section with the keys {string.Join(", ", Properties(target).Select(p => p.Name))}; got the value '{section.Value}'.");
            badKeys.Add(section.Path);
            return;
        }
        // An array element's keys are checked against its type, like any section's.
        var path = ElementPattern(section.Path);
        foreach (var property in Properties(target))
        {
            KnownChildren(known, path).Add(property.Name);
            Walk(section.GetSection(property.Name), property.PropertyType, problems, badKeys, known);
        }
    }

    private static void FindUnknown(IConfigurationSection section, Dictionary<string, HashSet<string>> known, List<string> warnings)
    {
        if (!known.TryGetValue(ElementPattern(section.Path), out var children))
            return; // a scalar or a list: nothing below it is a key of its own
        foreach (var child in section.GetChildren())
        {
            if (children.Contains(child.Key) || int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                FindUnknown(child, known, warnings);
                continue;
            }
            var nearest = Suggestions.Nearest(child.Key, children);
            warnings.Add($"{child.Path} is not a setting this version knows and is ignored{(nearest is null ? "" : $"; did you mean {section.Path}:{nearest}?")}");
        }
    }

    /// <summary>"Newsletter:Sources:3" and "Newsletter:Sources:0" share one set of known keys: "Newsletter:Sources:*".</summary>
    private static string ElementPattern(string path) =>
        string.Join(':', path.Split(':').Select(part => int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? "*" : part));

    private static string? ConversionProblem(string value, Type type)
    {
        if (type.IsEnum)
        {
            var names = Enum.GetNames(type);
            return names.Any(n => n.Equals(value.Trim(), StringComparison.OrdinalIgnoreCase))
                ? null
                : $"must be one of {string.Join(", ", names)}; got '{value}'.";
        }
        if (type == typeof(string) || value.Length == 0 && !type.IsValueType)
            return null;
        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return null;
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException or OverflowException or NotSupportedException || exception.InnerException is FormatException or OverflowException)
        {
            return $"must be {Describe(type)}; got '{value}'.";
        }
    }

    private static string Describe(Type type) => type switch
    {
        _ when type == typeof(int) || type == typeof(long) => "a whole number",
        _ when type == typeof(double) || type == typeof(decimal) => "a number",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(TimeSpan) => "a duration such as 00:05:00 (hh:mm:ss) or 1.00:00:00 (one day)",
        _ when type == typeof(Uri) => "an absolute URL",
        _ => $"a {type.Name}",
    };

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Uri) || type == typeof(Guid);

    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
            return type.GetElementType();
        if (type != typeof(string) && type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type)
            && type.GetGenericArguments() is [var element])
            return element;
        return null;
    }

    private static IEnumerable<PropertyInfo> Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && (p.SetMethod?.IsPublic == true || p.CanRead && ElementType(p.PropertyType) is not null));
}
