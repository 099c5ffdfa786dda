using Tolerex.Fuzz;

namespace Tolerex.Tests.Unit.Protocol;

/// <summary>
/// The fuzzing corpus (fuzz/corpus: seeds, plus any input a fuzzing run found) replayed through the fuzz
/// target on every test run, so a finding once fixed stays fixed.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static string Corpus => Path.Combine(TestEnvironment.RepositoryRoot, "fuzz", "corpus");

    /// <summary>The hand-written seeds, one test case each.</summary>
    public static TheoryData<string> Seeds() => [.. Directory.EnumerateFiles(Corpus).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Every_seed_parses_the_same_whole_and_in_pieces(string file) =>
        HaToKuSeTarget.Run(File.ReadAllBytes(file));

    /// <summary>The inputs an AFL++ run kept for new coverage (fuzz/corpus/afl), replayed together.</summary>
    [Fact]
    public void Every_input_the_fuzzer_kept_parses_the_same_whole_and_in_pieces()
    {
        var files = Directory.EnumerateFiles(Path.Combine(Corpus, "afl")).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
            HaToKuSeTarget.Run(File.ReadAllBytes(file));
    }
}
