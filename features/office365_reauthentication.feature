@office365 @graph @needs:office365-graph
Feature: Delegated Office 365 integrations need re-authentication when the grant dies
  With the OAuth (delegated) method the integration expires and needs re-authentication when the
  token is revoked or the user's password changes; meanwhile events stop syncing. After the user
  authorizes again, what changed meanwhile arrives, and nothing is lost or duplicated.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the first member of tenant "contoso" has connected Office 365 with the default settings

  @req:OAUTH-04 @req:OAUTH-02
  Scenario Outline: <what happened> stops the sync until the user authorizes again
    When <what happened>
    And a meeting "Budget review" is added to the user's Office 365 calendar tomorrow at 15:00
    And an hour and a half passes
    And the integration runs its periodic sync
    Then the integration status is "reauth_required"
    And the meeting list does not show "Budget review"
    When the user authorizes the integration again with OAuth from their profile
    Then the integration status is "connected"
    And the meeting list shows "Budget review"
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else

    Examples:
      | what happened                                        |
      | the user's password is changed at Microsoft          |
      | the user's sessions are revoked by the Office 365 admin |
      | 91 days pass without the integration refreshing its token |
      | the user withdraws the app's permissions at Microsoft |
