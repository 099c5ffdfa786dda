using Tolerex.Fuzz;

namespace Tolerex.Tests.Protocol;

/// <summary>
/// The fuzzing corpus (fuzz/corpus: seeds, plus any input a fuzzing run found) replayed through the fuzz
/// target on every test run, so a finding once fixed stays fixed.
/// </summary>
public sealed class FuzzCorpusTests
{
    public static TheoryData<string> Inputs()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Tolerex.sln")))
            root = root.Parent;
        var corpus = Path.Combine(root?.FullName ?? throw new InvalidOperationException("repository root not found"), "fuzz", "corpus");
        return [.. Directory.EnumerateFiles(corpus).Order(StringComparer.Ordinal)];
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Every_corpus_input_parses_the_same_whole_and_in_pieces(string file) =>
        HaToKuSeTarget.Run(File.ReadAllBytes(file));
}
