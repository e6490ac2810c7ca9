using Avatar.Chat.Llm;

namespace Avatar.Tests.Chat;

public sealed class EmbeddedEngineTests
{
    private static async Task<string> AnswerAsync(string kind, string said, int turn = 1, IReadOnlyList<string>? facts = null, Guid? session = null)
    {
        var request = new LlmRequest([new LlmMessage(LlmRole.System, "..."), new LlmMessage(LlmRole.User, said)])
        {
            Character = new CharacterContext(session ?? Guid.Parse("0190f5c2-0000-7000-8000-000000000001"), "Iris", kind, "Wise and gentle. Loves riddles.",
                facts ?? [], turn),
        };
        var pieces = new List<string>();
        await foreach (var piece in new EmbeddedEngine().StreamAsync(request, CancellationToken.None))
        {
            pieces.Add(piece);
        }
        Assert.True(pieces.Count > 3, "the answer streams in pieces");
        return string.Concat(pieces);
    }

    [Fact]
    public async Task TheSameSessionTurnAndWordsGiveTheSameAnswer()
    {
        Assert.Equal(await AnswerAsync("tarot", "Will I travel?"), await AnswerAsync("tarot", "Will I travel?"));
        Assert.NotEqual(await AnswerAsync("tarot", "Will I travel?"), await AnswerAsync("tarot", "Will I travel?", session: Guid.NewGuid()));
    }

    [Fact]
    public async Task ATarotQuestionGetsThreeDistinctCardsForPastPresentAndFuture()
    {
        for (var i = 0; i < 20; i++)
        {
            var answer = await AnswerAsync("tarot", "Should I move to Porto?", session: Guid.NewGuid());
            var positions = new[] { "past", "present", "future" }.Select(p => answer.IndexOf($"For your {p}, ", StringComparison.Ordinal)).ToList();
            Assert.All(positions, p => Assert.True(p >= 0, answer));
            Assert.Equal(positions.Order(), positions);
            var cards = positions.Select(p => answer[(answer.IndexOf(", ", p, StringComparison.Ordinal) + 2)..answer.IndexOf(':', p)].Replace(", reversed", "")).ToList();
            Assert.Equal(3, cards.Distinct().Count());
        }
    }

    [Fact]
    public async Task SmallTalkWithTheTarotReaderDrawsOneCard()
    {
        var answer = await AnswerAsync("tarot", "Nice to meet you", turn: 0);
        Assert.StartsWith("Hello, I am Iris.", answer);
        Assert.Contains("I drew one card for you", answer);
        Assert.DoesNotContain("For your", answer);
    }

    [Fact]
    public void TheDeckHasSeventyEightDifferentCards()
    {
        Assert.Equal(78, Enumerable.Range(0, 78).Select(i => Tarot.Card(i, reversed: false).Name).Distinct().Count());
        Assert.EndsWith(", reversed", Tarot.Card(0, reversed: true).Name);
    }

    [Fact]
    public async Task TheConciergeAnswersFromTheMatchingFactOrSaysItDoesNotKnow()
    {
        string[] facts = ["You live in Lisbon.", "You are allergic to peanuts."];
        Assert.Contains("You are allergic to peanuts.", await AnswerAsync("concierge", "Is there anything I am allergic to?", facts: facts));
        Assert.Contains("You live in Lisbon.", await AnswerAsync("concierge", "Where do I live these days?", facts: facts));
        var unknown = await AnswerAsync("concierge", "What is my favourite film?", facts: facts);
        Assert.DoesNotContain("Lisbon", unknown);
        Assert.DoesNotContain("peanuts", unknown);
    }

    [Fact]
    public async Task TheBlindDateEchoesTheUsersTopicAndAsksAQuestion()
    {
        var answer = await AnswerAsync("blind_date", "I spent the weekend sailing");
        Assert.Contains("sail", answer, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("?", answer);
    }

    [Fact]
    public async Task CancellingStopsTheStream()
    {
        using var cancel = new CancellationTokenSource();
        var request = new LlmRequest([new LlmMessage(LlmRole.User, "Will I travel?")])
        {
            Character = new CharacterContext(Guid.NewGuid(), "Iris", "tarot", "", [], 1),
        };
        var count = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in new EmbeddedEngine().StreamAsync(request, cancel.Token))
            {
                if (++count == 2)
                {
                    await cancel.CancelAsync();
                }
            }
        });
        Assert.Equal(2, count);
    }
}
