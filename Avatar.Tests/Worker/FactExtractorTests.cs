using Avatar.Worker.Facts;

namespace Avatar.Tests.Worker;

public sealed class FactExtractorTests
{
    [Fact]
    public void StatementsAboutTheUserAreRestatedToThem()
    {
        Assert.Equal(
        [
            "Your name is Ana.", "You live in Lisbon.", "You are allergic to peanuts.", "You love jazz.", "You work as a nurse.",
            "Your birthday is May 3.", "You have two cats.", "Your favourite colour is green.", "You do not like olives.",
        ], FactExtractor.Extract(
            "Hi, my name is Ana. I live in Lisbon! I'm allergic to peanuts. I love jazz and I work as a nurse.\n" +
            "My birthday is May 3. I have two cats. My favourite colour is green. I don't like olives."));
    }

    [Fact]
    public void QuestionsAndHypotheticalsStateNothing()
    {
        Assert.Empty(FactExtractor.Extract("Do I like jazz? What is my name? If I lived in Paris, I would paint. Will I travel?"));
    }

    [Fact]
    public void RepeatsAreKeptOnceAndMyBecomesYour()
    {
        Assert.Equal(["You love your sister's cooking."],
            FactExtractor.Extract("I love my sister's cooking. I LOVE my sister's cooking."));
    }

    [Fact]
    public void SmallTalkIsNotAFact()
    {
        Assert.Empty(FactExtractor.Extract("Hello there. Nice weather today. Tell me about the cards."));
    }
}
