using Avatar.Chat.Llm;

namespace Avatar.Tests.Chat;

public sealed class SentenceSplitterTests
{
    private const string Text =
        "Dr. Smith paid $3.14 for tea at 9 a.m. on Main St. yesterday! Did J. R. R. Tolkien write it?! \"Yes,\" she said. " +
        "Wait... really? (It was true.) Line one\nLine two";

    private static List<string> Split(IEnumerable<string> chunks)
    {
        var splitter = new SentenceSplitter();
        var sentences = chunks.SelectMany(splitter.Push).ToList();
        if (splitter.Flush() is { } rest)
        {
            sentences.Add(rest);
        }
        return sentences;
    }

    [Fact]
    public void SentencesEndAtTerminatorsButNotAtDecimalsAbbreviationsOrInitials()
    {
        Assert.Equal(
        [
            "Dr. Smith paid $3.14 for tea at 9 a.m. on Main St. yesterday!",
            "Did J. R. R. Tolkien write it?!",
            "\"Yes,\" she said.",
            "Wait...",
            "really?",
            "(It was true.)",
            "Line one",
            "Line two",
        ], Split([Text]));
    }

    [Fact]
    public void TheSentencesAreTheSameWhateverTheChunking()
    {
        var whole = Split([Text]);
        Assert.Equal(whole, Split(Text.Select(c => c.ToString())));
        var random = new Random(7);
        for (var run = 0; run < 50; run++)
        {
            var chunks = new List<string>();
            for (var i = 0; i < Text.Length;)
            {
                var length = Math.Min(random.Next(1, 12), Text.Length - i);
                chunks.Add(Text.Substring(i, length));
                i += length;
            }
            Assert.Equal(whole, Split(chunks));
        }
    }

    [Fact]
    public void ASentenceIsNotGivenOutBeforeTheNextCharacterShowsItEnded()
    {
        var splitter = new SentenceSplitter();
        Assert.Empty(splitter.Push("It costs 3."));
        Assert.Empty(splitter.Push("50 today"));
        Assert.Equal(["It costs 3.50 today."], splitter.Push(". Then"));
        Assert.Equal("Then", splitter.Flush());
        Assert.Null(splitter.Flush());
    }

    [Fact]
    public void AVeryLongSentenceIsCutAtAPauseSoSpeechCanStart()
    {
        var splitter = new SentenceSplitter();
        var clause = "and the river kept running past the old mill, ";
        var sentences = splitter.Push(string.Concat(Enumerable.Repeat(clause, 6))).ToList();
        Assert.NotEmpty(sentences);
        Assert.All(sentences, s => Assert.True(s.Length <= SentenceSplitter.MaxLength));
        Assert.EndsWith(",", sentences[0]);
    }
}
