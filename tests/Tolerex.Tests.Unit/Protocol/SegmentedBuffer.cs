using System.Buffers;

namespace Tolerex.Tests.Unit.Protocol;

/// <summary>A receive buffer in several segments, as a socket may deliver one: parsers must not care where it is cut.</summary>
internal static class SegmentedBuffer
{
    /// <summary><paramref name="bytes"/> cut at <paramref name="cuts"/> (out-of-range and repeated cuts ignored).</summary>
    public static ReadOnlySequence<byte> Of(byte[] bytes, params int[] cuts)
    {
        var bounds = cuts.Prepend(0).Append(bytes.Length).Where(c => c >= 0 && c <= bytes.Length).Distinct().Order().ToArray();
        if (bounds.Length < 2)
            return new ReadOnlySequence<byte>(bytes);

        Segment? first = null, last = null;
        for (var i = 0; i + 1 < bounds.Length; i++)
        {
            var memory = bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]);
            if (first is null)
                first = last = new Segment(memory, 0);
            else
                last = last!.Append(memory);
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

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
