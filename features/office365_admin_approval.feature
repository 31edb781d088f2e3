@office365 @graph @consent @needs:office365-graph
Feature: Admin approval when the tenant does not let users consent to apps
  Users of a tenant whose admin disabled "Users can consent to apps accessing company data on
  their behalf" see "Need admin approval" when they integrate. The Office 365 admin can consent
  on behalf of the company; or re-enable user consent, which takes about 30 minutes to propagate.

  Background:
    Given a meeting platform account owned by the admin of tenant "fabrikam"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the user is the first member of tenant "fabrikam"

  @req:APPROVAL-01 @req:APPROVAL-02
  Scenario: Without consent a user is told they need admin approval and nothing is connected
    When the user tries to set up the calendar integration with the default service
    Then the sign-in stops on the page "Need admin approval"
    And the integration status is not "connected"

  @req:ROOMS-01 @req:ROOMS-05 @req:ROOMS-06 @req:CONSENT-01 @req:CONSENT-05 @needs:rooms
  Scenario: After the Office 365 admin consents on behalf of the company, users can connect
    When the admin authorizes the integration as Office 365 admin on behalf of the company
    And the user sets up the calendar integration with the default service and accepts the consent
    Then the integration status is "connected"
    And the identity provider was asked for exactly the resource scopes "Calendars.Read"

  @req:APPROVAL-03 @req:CONSENT-07 @req:CONSENT-06
  Scenario: Re-enabled user consent counts only after it has propagated
    When the Office 365 admin allows users to consent to apps
    And the user tries to set up the calendar integration with the default service
    Then the sign-in stops on the page "Need admin approval"
    When 31 minutes pass
    And the user sets up the calendar integration again with the default service
    Then the integration status is "connected"

  @req:CONSENT-06 @req:CONSENT-09
  Scenario: Admin consent granted to this app alone in Entra ID lets users integrate without approval
    When the user tries to set up the calendar integration with the default service
    Then the sign-in stops on the page "Need admin approval"
    When the Office 365 admin grants admin consent to the app in Entra ID for "Calendars.Read"
    And the user sets up the calendar integration again with the default service
    Then the integration status is "connected"
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else

  @req:CONSENT-09
  Scenario: After admin consent in Entra ID the user goes straight back without a consent page
    Given the Office 365 admin grants admin consent to the app in Entra ID for "Calendars.Read"
    When the user sets up the calendar integration again with the default service
    Then the integration status is "connected"
    And the user's last sign-in at Microsoft went straight back without a consent page

  @req:CONSENT-02
  Scenario: Platform permissions wider than those consented in Office 365 fail until they are the same
    Given the Office 365 admin grants admin consent to the app in Entra ID for "Calendars.Read"
    And the admin sets the calendar permission to "Write" and the contacts permission to "None"
    When the user tries to set up the calendar integration with the default service
    Then the sign-in stops on the page "Need admin approval"
    And the identity provider stopped the user for admin approval of "Calendars.ReadWrite"
    And the integration status is not "connected"
    When the admin changes the calendar permission to "Read" and the contacts permission to "None"
    And the user sets up the calendar integration again with the default service
    Then the integration status is "connected"
    And the user's last sign-in at Microsoft went straight back without a consent page

  @req:APPROVAL-05 @req:ROOMS-04 @needs:rooms @needs:office365-ews
  Scenario: The admin's consent for the company clears "Need admin approval" for Graph only when given with OAuth 2.0
    Given the admin sets the default calendar service to "Office 365" authorized with "EWS URL"
    And the admin authorizes the integration as Office 365 admin on behalf of the company
    When the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the user tries to set up the calendar integration with the default service
    Then the sign-in stops on the page "Need admin approval"
    When the admin authorizes the integration as Office 365 admin on behalf of the company
    Then the Office 365 admin's consent for the company covered exactly the resource scopes "Calendars.Read"
    When the user sets up the calendar integration again with the default service
    Then the integration status is "connected"

  @req:APPROVAL-04 @needs:sso @needs:rooms
  Scenario: Once the Office 365 admin consented for the company, the user-consent option can be off and users integrate at login
    Given the admin has integrated their own Office 365 calendar
    And the admin changes the account settings:
      | setting                     | value |
      | sso_configured              | on    |
      | idp_federated               | on    |
      | office365_users_can_consent | on    |
      | auto_integrate_on_login     | on    |
    When the admin tries to change the account settings:
      | setting                     | value |
      | office365_users_can_consent | off   |
    Then the change is refused with "users_cannot_consent" and a message containing "consent on behalf of the company"
    When the admin authorizes the integration as Office 365 admin on behalf of the company
    And the admin changes the account settings:
      | setting                     | value |
      | office365_users_can_consent | off   |
    Then the account setting "office365_users_can_consent" is "off"
    When the user signs in with SSO using client 5.17.11 on windows
    Then the sign-in integrates automatically
    When the user follows the redirect and accepts the consent
    Then the integration status is "connected"
    And the user's last sign-in at Microsoft went straight back without a consent page
