using System.Buffers;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Fuzz;

/// <summary>
/// The HaToKuSe parser under fuzzing. Any exception escaping <see cref="Run"/> is a finding: the parser threw,
/// made no progress, broke its line limit, or parsed the same bytes differently when they arrived in
/// several pieces (as TCP delivers them) than in one.
/// </summary>
internal static class HaToKuSeTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
            return;
        // The first two bytes choose the line limit and where the input is cut, so the fuzzer explores both.
        var maxLine = 8 + data[0];
        var cutSeed = data[1];
        var input = data[2..].ToArray();

        var whole = Parse(new ReadOnlySequence<byte>(input), maxLine);
        var pieces = Parse(Segments(input, cutSeed), maxLine);
        if (!whole.SequenceEqual(pieces))
            throw new InvalidOperationException($"split input parsed differently:\n  whole:  {string.Join(" | ", whole)}\n  pieces: {string.Join(" | ", pieces)}");
    }

    private static List<string> Parse(ReadOnlySequence<byte> buffer, int maxLine)
    {
        var results = new List<string>();
        while (true)
        {
            var before = buffer.Length;
            if (!HaToKuSeParser.TryParse(ref buffer, maxLine, out var command))
                break;
            if (command.Error == ProtocolError.LineTooLong)
            {
                results.Add("LineTooLong");
                return results; // the connection closes here
            }

            if (buffer.Length >= before)
                throw new InvalidOperationException("a command was returned without consuming input");
            if (command.Payload.Length > maxLine)
                throw new InvalidOperationException($"a {command.Payload.Length}-byte message passed a {maxLine}-byte line limit");
            results.Add($"{command.Kind}/{command.Error}/{command.Id}/{command.Count}/{command.Flag}/{Convert.ToHexString(command.Payload.ToArray())}");
        }

        // Without a complete line, whatever is left must be shorter than the limit, or the parser should have refused it.
        if (buffer.Length > maxLine + 1 && buffer.PositionOf((byte)'\n') is null)
            throw new InvalidOperationException($"{buffer.Length} bytes without a line end were left buffered past a {maxLine}-byte limit");
        return results;
    }

    /// <summary>The input as a chain of segments of 1..16 bytes, sizes drawn from <paramref name="seed"/>.</summary>
    private static ReadOnlySequence<byte> Segments(byte[] input, int seed)
    {
        if (input.Length == 0)
            return ReadOnlySequence<byte>.Empty;
        var random = new Random(seed);
        Segment? first = null, last = null;
        for (var pos = 0; pos < input.Length;)
        {
            var size = Math.Min(random.Next(1, 17), input.Length - pos);
            var segment = new Segment(input.AsMemory(pos, size), pos);
            if (last is null)
                first = segment;
            else
                last.Next = segment;
            last = segment;
            pos += size;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public new Segment? Next
        {
            set => base.Next = value;
        }
    }
}
